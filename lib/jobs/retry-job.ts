/**
 * Retrying failed and crashed executions under a retry policy: n8n 2.x never re-runs a crashed execution by itself,
 * and a node's "Retry On Fail" does not cover crashes.
 */
import { sleep, type RetryPolicy } from '../retry';
import { JobsError } from './errors';
import { FAILED_STATUSES, toJob, type ExecutionStatus } from './job';
import type { N8nApiClient } from './n8n-api';
import { waitForJob } from './wait';

interface RetryAttempt {
	/** 1-based. */
	attempt: number;
	/** The execution that was retried (the original, then each failed retry). */
	retriedExecutionId: string;
	/** The execution the retry started; null when n8n refused to start one. */
	executionId: string | null;
	status: ExecutionStatus | 'not started';
	/** Waited before this attempt, ms (0 for the first). */
	delayMs: number;
	error?: string;
}

interface RetryJobResult {
	originalExecutionId: string;
	succeeded: boolean;
	/** The last execution started (the successful one when succeeded). */
	finalExecutionId: string | null;
	finalStatus: ExecutionStatus | 'not started';
	attempts: RetryAttempt[];
}

interface RetryJobOptions {
	/** Attempts = policy.maxRetries + 1; the wait before attempt n + 1 is policy.getRetryDelay(n). */
	policy: RetryPolicy;
	/** Retry with the workflow as saved now instead of as it was when the execution ran. */
	loadWorkflow?: boolean;
	signal?: AbortSignal;
	/** Longest wait for one retried execution to finish, ms (default 10 min). */
	executionTimeoutMs?: number;
	/** Injected for tests; default: lib/retry's abortable sleep. */
	sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

type Api = Pick<N8nApiClient, 'getExecution' | 'retryExecution'>;

/** n8n's message when it gives up on a job whose worker stopped responding (MaxStalledCountError). */
const STALLED = /failed to be processed too many times/;

/** n8n's refusal, explained when the execution's data was discarded after a stalled job. */
async function refusalReason(api: Api, id: string, error: JobsError): Promise<string> {
	const failed = await api.getExecution(id, { includeData: true }).then(toJob, () => undefined);
	if (!failed?.error || !STALLED.test(failed.error.message)) return error.message;
	return `${error.message}. n8n discarded this execution's data when its worker stopped responding (a stalled job), so n8n cannot replay it; run its workflow again with the original input.`;
}

/**
 * Retries execution `id` until one run succeeds or the policy's attempts are used up; each attempt retries the
 * previous failed run (n8n links them with retryOf). Throws JobsError NOT_RETRYABLE when the execution is still
 * running or waiting, succeeded, was canceled, or already has a successful retry; NOT_FOUND for an unknown id.
 * A refusal by n8n (4xx) ends the attempts and is reported in the result.
 */
export async function retryJob(
	api: Api,
	id: string,
	options: RetryJobOptions,
): Promise<RetryJobResult> {
	const original = toJob(await api.getExecution(id));
	if (!FAILED_STATUSES.has(original.status)) {
		const why =
			original.status === 'success'
				? 'it succeeded'
				: original.finished
					? `it was ${original.status}`
					: `it is still "${original.status}": wait for it to finish (Wait for Job) before retrying`;
		throw new JobsError('NOT_RETRYABLE', `Execution ${id} cannot be retried: ${why}`);
	}
	if (original.retrySuccessId) {
		throw new JobsError(
			'NOT_RETRYABLE',
			`Execution ${id} was already retried successfully as execution ${original.retrySuccessId}`,
		);
	}

	const wait = options.sleep ?? sleep;
	const timeoutMs = options.executionTimeoutMs ?? 600_000;
	const attempts: RetryAttempt[] = [];
	let retried = id;
	for (let attempt = 1; attempt <= options.policy.maxRetries + 1; attempt++) {
		const delayMs = attempt === 1 ? 0 : Math.round(options.policy.getRetryDelay(attempt - 1));
		if (delayMs > 0) await wait(delayMs, options.signal);
		let started;
		try {
			started = toJob(
				await api.retryExecution(retried, { loadWorkflow: options.loadWorkflow, timeoutMs }),
			);
		} catch (error) {
			if (!(error instanceof JobsError) || error.status === undefined || error.status >= 500)
				throw error;
			attempts.push({
				attempt,
				retriedExecutionId: retried,
				executionId: null,
				status: 'not started',
				delayMs,
				error: await refusalReason(api, retried, error),
			});
			break;
		}
		const done = started.finished
			? started
			: await waitForJob(api, started.id, { timeoutMs, signal: options.signal });
		attempts.push({
			attempt,
			retriedExecutionId: retried,
			executionId: done.id,
			status: done.status,
			delayMs,
		});
		if (done.status === 'success') break;
		retried = done.id;
	}
	const last = attempts[attempts.length - 1];
	return {
		originalExecutionId: id,
		succeeded: last.status === 'success',
		finalExecutionId: last.executionId,
		finalStatus: last.status,
		attempts,
	};
}
