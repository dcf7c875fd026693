/** bench/soak/report.ts: outcomes summed over flows, latency by phase, memory growth of the last pid after warm-up. */
import { emptyOutcome, type FlowOutcome } from '../../../bench/soak/outcomes';
import { soakTable, summarize } from '../../../bench/soak/report';

const outcome = (o: Partial<FlowOutcome>): FlowOutcome => ({ ...emptyOutcome(), ...o });

const phaseAt = (ms: number) => (ms < 1000 ? 'before' : ms < 4000 ? 'during' : 'after');

const result = summarize({
	at: '2026-01-01T00:00:00.000Z',
	command: 'npm run soak',
	machine: { cpus: 2, cpu: 'Test CPU', memoryGiB: 24, node: 'v24.0.0', note: 'test' },
	settings: { minutes: 5, ratePerSecond: 1, maxInFlight: 10, faultRounds: 1, warmUpMinutes: 1 },
	phaseAt,
	records: [
		{ flow: 'chat', phase: 'before', sentAtMs: 0, ms: 100, result: 'ok' },
		{ flow: 'chat', phase: 'during', sentAtMs: 2000, ms: 900, result: 'ok' },
		{ flow: 'chat', phase: 'during', sentAtMs: 2500, ms: 50, result: 'error', code: 'HTTP 500' },
	],
	skipped: 2,
	faults: [{ kind: 'worker killed', target: 'worker-1', atMs: 2000, recoveredAfterMs: 10 }],
	outcomes: {
		chat: outcome({ started: 3, succeeded: 2, failed: 1, codes: { store_unavailable: 1 } }),
		approval: outcome({
			started: 2,
			succeeded: 1,
			lost: 1,
			lostDetails: ['execution 7: still waiting'],
			durationsMs: [{ startedAt: 4500, ms: 3000 }],
		}),
	} as Record<string, FlowOutcome> as never,
	samples: [
		{ atMs: 0, name: 'worker', pid: 1, rssMiB: 500, fds: 10 },
		{ atMs: 70_000, name: 'worker', pid: 2, rssMiB: 100, fds: 20 },
		{ atMs: 130_000, name: 'worker', pid: 2, rssMiB: 110, fds: 22 },
	],
	approvals: { decided: 1, answers: { 200: 1 }, errors: [] },
});

it('sums the flows and keeps why each lost execution counts as lost', () => {
	expect(result.executions).toMatchObject({ started: 5, succeeded: 3, failed: 1, lost: 1 });
	expect(result.executions.codes).toEqual({ store_unavailable: 1 });
	expect(result.executions.lostDetails).toEqual(['approval: execution 7: still waiting']);
	expect(result.requests).toMatchObject({ sent: 3, skipped: 2, byResult: { ok: 2, error: 1 } });
});

it('times ok requests by the phase they were sent in, approvals by their execution', () => {
	expect(result.latencyMs.chat.before).toEqual({ n: 1, p50: 100, p95: 100 });
	expect(result.latencyMs.chat.during).toEqual({ n: 1, p50: 900, p95: 900 });
	expect(result.latencyMs.approval.after).toEqual({ n: 1, p50: 3000, p95: 3000 });
});

it("measures growth on a restarted process's last pid, from its first sample after the warm-up", () => {
	expect(result.processes.worker).toMatchObject({
		pid: 2,
		rssMiB: { first: 100, last: 110, growthPct: 10 },
		fds: { first: 20, last: 22 },
	});
	expect(result.maxRssGrowthPct).toBe(10);
	expect(soakTable(result)).toContain(
		'| **all** | 5 | 3 | 1 (`store_unavailable` 1) | **1** | | | |',
	);
});
