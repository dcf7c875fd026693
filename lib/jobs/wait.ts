import { sleep } from '../retry';
import { JobsError } from './errors';
import { toJob, type Job } from './job';
import type { N8nApiClient } from './n8n-api';

interface WaitOptions {
	/** Poll interval, ms (default 1000). */
	intervalMs?: number;
	/** Give up after this long, ms (default 60 000). */
	timeoutMs?: number;
	signal?: AbortSignal;
	/** Read the final execution with its data (error message and node). */
	includeData?: boolean;
}

/**
 * Polls GET /executions/{id} until the execution's status is final (success, error, crashed, canceled) and returns it.
 * Throws JobsError WAIT_TIMEOUT (naming the last status seen) after timeoutMs, NOT_FOUND for an unknown id, and the
 * signal's reason when it aborts (n8n cancelling the execution).
 */
export async function waitForJob(
	client: Pick<N8nApiClient, 'getExecution'>,
	id: string,
	options: WaitOptions = {},
): Promise<Job> {
	const { intervalMs = 1000, timeoutMs = 60_000, signal, includeData = false } = options;
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const job = toJob(await client.getExecution(id, { includeData }));
		if (job.finished) return job;
		const left = deadline - Date.now();
		if (left <= 0) {
			throw new JobsError(
				'WAIT_TIMEOUT',
				`Execution ${id} is still "${job.status}" after ${Math.round(timeoutMs / 1000)} s; raise the timeout or check the workers`,
			);
		}
		await sleep(Math.min(intervalMs, left), signal);
	}
}
