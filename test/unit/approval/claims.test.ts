import { ProcessClaims } from '../../../lib/approval/claims';
import type { ApprovalDecision } from '../../../lib/approval';

const decision = (approvalId: string, action: 'approve' | 'reject', at = 0): ApprovalDecision => ({
	approvalId,
	decidedAt: new Date(at).toISOString(),
	decisions: [{ id: 'call_1', action }],
});

describe('ProcessClaims', () => {
	it('lets exactly one of concurrent decisions win, and tells the others which one', async () => {
		const claims = new ProcessClaims();
		const posted = Array.from({ length: 20 }, (_, i) =>
			decision('approval-1', i % 2 ? 'reject' : 'approve', i),
		);
		const outcomes = await Promise.all(posted.map((d) => claims.claim(d, 60_000)));
		const winners = outcomes.flatMap((o, i) => (o.won ? [posted[i]] : []));
		expect(winners).toHaveLength(1);
		for (const outcome of outcomes) if (!outcome.won) expect(outcome.winner).toEqual(winners[0]);
	});

	it('keeps requests apart and forgets a claim after its time', async () => {
		const claims = new ProcessClaims();
		expect(await claims.claim(decision('a', 'approve'), 60_000)).toEqual({ won: true });
		expect(await claims.claim(decision('b', 'reject'), 60_000)).toEqual({ won: true });
		expect(await claims.claim(decision('c', 'approve'), 0)).toEqual({ won: true });
		expect(await claims.claim(decision('c', 'reject'), 0)).toEqual({ won: true });
	});
});
