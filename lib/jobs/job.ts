/** Jobs are n8n executions, as n8n's public API (/api/v1/executions) returns them. */

export const EXECUTION_STATUSES = [
	'canceled',
	'crashed',
	'error',
	'new',
	'running',
	'success',
	'unknown',
	'waiting',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses after which an execution will not change by itself. */
export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
	'canceled',
	'crashed',
	'error',
	'success',
]);
/** Statuses of executions that ran to an end, well or badly (not canceled). */
export const ENDED_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
	'success',
	'error',
	'crashed',
]);
/** Statuses of executions that ended badly and can be retried. */
export const FAILED_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['error', 'crashed']);

/** An execution as the public API returns it (fields this library reads). */
export interface ApiExecution {
	id: string | number;
	workflowId: string | number;
	status: ExecutionStatus;
	mode: string;
	startedAt: string | null;
	stoppedAt: string | null;
	retryOf?: string | number | null;
	retrySuccessId?: string | number | null;
	waitTill?: string | null;
	/** Execution custom data ($execution.customData), only when read with its data. */
	customData?: Record<string, string>;
	data?: {
		resultData?: {
			error?: { message?: string; description?: string; node?: { name?: string } };
			lastNodeExecuted?: string;
			runData?: Record<
				string,
				Array<{
					error?: { message?: string };
					data?: { main?: Array<Array<{ json: Record<string, unknown> }> | null> };
				}>
			>;
		};
	};
}

export interface Job {
	id: string;
	workflowId: string;
	status: ExecutionStatus;
	/** True once the status is final (success, error, crashed, canceled). */
	finished: boolean;
	/** How it started: webhook, trigger, manual, retry, … */
	mode: string;
	startedAt: string | null;
	stoppedAt: string | null;
	/** stoppedAt − startedAt, ms; null while running. */
	durationMs: number | null;
	retryOf: string | null;
	retrySuccessId: string | null;
	/** With execution data: the error and the node it happened in (the last node run). */
	error?: { message: string; node: string | null };
	lastNode?: string | null;
}

const idOf = (value: string | number | null | undefined) =>
	value === null || value === undefined ? null : String(value);

/** The Job view of an execution; `error`/`lastNode` only when the execution was read with its data. */
export function toJob(execution: ApiExecution): Job {
	const started = execution.startedAt ? Date.parse(execution.startedAt) : NaN;
	const stopped = execution.stoppedAt ? Date.parse(execution.stoppedAt) : NaN;
	const job: Job = {
		id: String(execution.id),
		workflowId: String(execution.workflowId),
		status: execution.status,
		finished: FINAL_STATUSES.has(execution.status),
		mode: execution.mode,
		startedAt: execution.startedAt,
		stoppedAt: execution.stoppedAt,
		durationMs:
			Number.isFinite(started) && Number.isFinite(stopped) ? Math.max(0, stopped - started) : null,
		retryOf: idOf(execution.retryOf),
		retrySuccessId: idOf(execution.retrySuccessId),
	};
	const resultData = execution.data?.resultData;
	if (resultData) {
		job.lastNode = resultData.lastNodeExecuted ?? null;
		if (resultData.error) {
			job.error = {
				message: resultData.error.message ?? 'Unknown error',
				node: resultData.error.node?.name ?? resultData.lastNodeExecuted ?? null,
			};
		}
	}
	return job;
}

/** The JSON items a node produced in the execution (first run, first output), or undefined when it did not run. */
export function nodeOutput(
	execution: ApiExecution,
	node: string,
): Array<Record<string, unknown>> | undefined {
	const run = execution.data?.resultData?.runData?.[node]?.[0];
	if (!run) return undefined;
	return (run.data?.main?.[0] ?? []).map((item) => item.json);
}
