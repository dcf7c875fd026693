/**
 * How every execution the load started ended, from n8n's own records (the public API), after the run has drained:
 * succeeded (`success`), failed with a code, or lost. A failed execution's code is the one our node put on its error
 * (`context.code`), else n8n's own for a job whose worker died: status `crashed`,
 * or `MaxStalledCountError` (n8n's error class, recognised by its message) when Bull gave up on the stalled job.
 * Lost: an execution that never ended (still new, running or waiting), one that failed without any code, and an
 * accepted request for which n8n recorded no execution at all.
 */
import type { Execution, N8nClient } from '../../stack/n8n/client';
import type { FlowName } from './flows';
import type { RequestRecord } from './load';

export interface FlowOutcome {
	started: number;
	succeeded: number;
	failed: number;
	lost: number;
	/** Failed executions by code. */
	codes: Record<string, number>;
	/** Why each lost one is counted as lost (execution ID and status, or the missing executions). */
	lostDetails: string[];
	/** Time from start to end of the ended executions (ms), for flows that answer before they end (approvals). */
	durationsMs: Array<{ startedAt: number; ms: number }>;
}

/** A flow's outcome before any execution is counted, with `started` executions. */
export function emptyOutcome(started = 0): FlowOutcome {
	return { started, succeeded: 0, failed: 0, lost: 0, codes: {}, lostDetails: [], durationsMs: [] };
}

/** n8n's MaxStalledCountError (n8n/dist/errors/max-stalled-count.error.js). */
const MAX_STALLED = /This execution failed to be processed too many times/;

async function allExecutions(client: N8nClient, workflowId: string): Promise<Execution[]> {
	const all: Execution[] = [];
	let cursor: string | undefined;
	do {
		const query = new URLSearchParams({ workflowId, limit: '250', ...(cursor ? { cursor } : {}) });
		const page = await client.api<{ data: Execution[]; nextCursor?: string | null }>(
			'GET',
			`/executions?${query}`,
		);
		all.push(...page.data);
		cursor = page.nextCursor ?? undefined;
	} while (cursor);
	return all;
}

/** The ID of the newest execution n8n has recorded (0 when none). */
export async function lastExecutionId(client: N8nClient): Promise<number> {
	const [newest] = await client.executions({ limit: 1 });
	return newest ? Number(newest.id) : 0;
}

/** The code of a failed execution (see the file comment) or undefined, and what its error says. */
async function failure(
	client: N8nClient,
	execution: Execution,
): Promise<{ code?: string; error: string }> {
	if (execution.status === 'crashed') return { code: 'crashed', error: 'crashed' };
	const full = await client.execution(execution.id);
	const { error, lastNodeExecuted } = (full.data?.resultData ?? {}) as {
		lastNodeExecuted?: string;
		error?: { message?: string; description?: string; context?: { code?: unknown } };
	};
	const said =
		`${lastNodeExecuted ?? '?'}: ${error?.message ?? ''} ${error?.description ?? ''}`.trim();
	if (typeof error?.context?.code === 'string') return { code: error.context.code, error: said };
	const code =
		(MAX_STALLED.test(said) ? 'MaxStalledCountError' : undefined) ??
		(execution.status === 'canceled' ? 'canceled' : undefined);
	return { code, error: said };
}

export async function flowOutcomes(
	client: N8nClient,
	workflowIds: Record<FlowName, string>,
	records: RequestRecord[],
	{ loadStartedAt, lastIdBefore }: { loadStartedAt: number; lastIdBefore: number },
): Promise<Record<FlowName, FlowOutcome>> {
	const result = {} as Record<FlowName, FlowOutcome>;
	for (const [flow, workflowId] of Object.entries(workflowIds) as Array<[FlowName, string]>) {
		// By ID, not start time: an execution that no worker started has no start time.
		const executions = (await allExecutions(client, workflowId)).filter(
			(e) => Number(e.id) > lastIdBefore,
		);
		const outcome = emptyOutcome(executions.length);
		for (const execution of executions) {
			if (execution.startedAt && execution.stoppedAt)
				outcome.durationsMs.push({
					startedAt: Date.parse(execution.startedAt) - loadStartedAt,
					ms: Date.parse(execution.stoppedAt) - Date.parse(execution.startedAt),
				});
			if (execution.status === 'success') {
				outcome.succeeded++;
				continue;
			}
			if (['new', 'running', 'waiting', 'unknown'].includes(execution.status)) {
				outcome.lost++;
				outcome.lostDetails.push(`execution ${execution.id}: still ${execution.status}`);
				continue;
			}
			const { code, error } = await failure(client, execution);
			if (code) {
				outcome.failed++;
				outcome.codes[code] = (outcome.codes[code] ?? 0) + 1;
			} else {
				outcome.lost++;
				outcome.lostDetails.push(
					`execution ${execution.id}: ${execution.status} without a code (${error.slice(0, 300)})`,
				);
			}
		}
		const accepted = records.filter((r) => r.flow === flow && r.result !== 'refused').length;
		if (accepted > executions.length) {
			outcome.lost += accepted - executions.length;
			outcome.lostDetails.push(
				`${accepted - executions.length} accepted requests without an execution`,
			);
		}
		result[flow] = outcome;
	}
	return result;
}
