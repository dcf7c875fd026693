/**
 * Which failed executions a polling trigger has already reported, so that each fires once: kept in the trigger's
 * static data between polls (n8n saves it for active workflows), pruned so it does not grow without bound.
 */
import type { ApiExecution } from './job';

/** Execution id → when it was reported, ms since the epoch. */
export type ReportedExecutions = Record<string, number>;

/**
 * The executions of `failed` not yet in `reported`, in execution id order (numeric ids compare as numbers); marks
 * them reported at `now` and forgets entries older than twice the look-back window (an execution that old is no
 * longer listed by the poll, so it cannot be reported again). Mutates `reported`.
 */
export function takeUnreported(
	failed: readonly ApiExecution[],
	reported: ReportedExecutions,
	now: number,
	lookBackMs: number,
): ApiExecution[] {
	for (const id of Object.keys(reported))
		if (reported[id] < now - 2 * lookBackMs) delete reported[id];
	const fresh = sortById(failed.filter((execution) => !(String(execution.id) in reported)));
	for (const execution of fresh) reported[String(execution.id)] = now;
	return fresh;
}

/**
 * The executions that are not retries of an earlier one (n8n sets `retryOf` on a retry). A flow that retries failed
 * jobs would otherwise be handed its own failed retries, retry those too, and feed itself without end.
 */
export function originalRuns<T extends Pick<ApiExecution, 'retryOf'>>(
	executions: readonly T[],
): T[] {
	return executions.filter(
		(execution) => execution.retryOf === undefined || execution.retryOf === null,
	);
}

/** Executions in id order: numeric ids as numbers, others as text. */
export function sortById<T extends Pick<ApiExecution, 'id'>>(executions: readonly T[]): T[] {
	return [...executions].sort(
		(a, b) => Number(a.id) - Number(b.id) || String(a.id).localeCompare(String(b.id)),
	);
}
