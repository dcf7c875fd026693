/**
 * The reviewer: every 2 s it looks for example 6's executions waiting at the Approval node and decides each once,
 * approving and rejecting in turn, through the approval URL the node gave (as a reviewer's page would). It records
 * what the page answered: 200 when the decision resumed the execution, 409/410 otherwise.
 */
import type { N8nClient } from '../../stack/n8n/client';

export interface ApprovalLog {
	decided: number;
	/** The page's answers by HTTP status. */
	answers: Record<string, number>;
	errors: string[];
}

interface ApprovalOutput {
	approvalUrl: string;
	calls: Array<{ id: string }>;
}

export function startApprovals(
	client: N8nClient,
	workflowId: string,
): { log: ApprovalLog; stop(): Promise<void> } {
	const log: ApprovalLog = { decided: 0, answers: {}, errors: [] };
	const seen = new Set<string>();
	let stopped = false;
	const decide = async (executionId: string) => {
		const execution = await client.execution(executionId);
		const runs = (execution.data?.resultData.runData.Approval ?? []) as unknown as Array<{
			data?: { ai_tool?: Array<Array<{ json: ApprovalOutput }>> };
		}>;
		const output = runs.at(-1)?.data?.ai_tool?.[0]?.[0]?.json;
		if (!output?.approvalUrl) return; // not at the Approval node yet: the next round looks again
		seen.add(executionId);
		const url = new URL(output.approvalUrl);
		const action = log.decided % 2 ? 'reject' : 'approve';
		log.decided++;
		const res = await fetch(`${client.url}${url.pathname}${url.search}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ decisions: output.calls.map((c) => ({ id: c.id, action })) }),
			signal: AbortSignal.timeout(60_000),
		});
		await res.text();
		log.answers[res.status] = (log.answers[res.status] ?? 0) + 1;
	};
	const loop = (async () => {
		while (!stopped) {
			try {
				const waiting = await client.executions({ workflowId, status: 'waiting', limit: 100 });
				for (const { id } of waiting) if (!seen.has(id)) await decide(id);
			} catch (error) {
				if (log.errors.length < 20) log.errors.push((error as Error).message.slice(0, 200));
			}
			await new Promise((resolve) => setTimeout(resolve, 2_000));
		}
	})();
	return {
		log,
		async stop() {
			stopped = true;
			await loop;
		},
	};
}
