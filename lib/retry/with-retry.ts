import { isAbortError, isRetryableError, retryAfterMs } from './classify';
import type { RetryPolicy } from './policy';

/** One failed attempt: its 1-based number, its error, and the wait before the next attempt (ms; absent for the last). */
interface AttemptRecord {
	attempt: number;
	error: unknown;
	delayMs?: number;
}

/** Thrown when every attempt allowed by the policy failed with a retryable error. */
export class RetryExhaustedError extends Error {
	readonly attempts: AttemptRecord[];

	readonly lastError: unknown;

	constructor(attempts: AttemptRecord[]) {
		const last = attempts[attempts.length - 1]?.error;
		super(
			`Gave up after ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}: ${messageOf(last)}`,
			{ cause: last },
		);
		this.name = 'RetryExhaustedError';
		this.attempts = attempts;
		this.lastError = last;
	}
}

/** Thrown (and retried) when one attempt runs longer than `timeoutMs`. */
export class AttemptTimeoutError extends Error {
	constructor(readonly timeoutMs: number) {
		super(`Attempt timed out after ${timeoutMs} ms`);
		this.name = 'AttemptTimeoutError';
	}
}

interface RetryContext {
	/** 1-based attempt number. */
	attempt: number;
	/** Aborted when the caller's signal aborts or this attempt times out; pass it to the call. */
	signal: AbortSignal;
}

interface RetryOptions {
	/** Stops at once (also during a wait) and rejects with the signal's reason. */
	signal?: AbortSignal;
	/** Default: isRetryableError. A non-retryable error is rethrown as is, without further attempts. */
	isRetryable?: (error: unknown) => boolean;
	/** Called before each wait; use it for logging (it receives errors as they are, so redact secrets there). */
	onRetry?: (info: { attempt: number; error: unknown; delayMs: number }) => void;
	/** Per-attempt time limit, ms. The attempt's signal aborts and AttemptTimeoutError (retryable) is raised. */
	timeoutMs?: number;
	/** Upper bound for a server's Retry-After, ms (default 60 000). */
	maxRetryAfterMs?: number;
	/**
	 * Awaited before each attempt, outside its time limit (e.g. waiting for a rate-limit slot); what it throws ends the
	 * call without a retry.
	 */
	beforeAttempt?: (attempt: number) => Promise<void>;
}

export function messageOf(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function abortReason(signal: AbortSignal): unknown {
	return (
		signal.reason ?? Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })
	);
}

/** Resolves after `ms` milliseconds; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(abortReason(signal));
		const onAbort = () => {
			clearTimeout(timer);
			reject(abortReason(signal!));
		};
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}

/** Runs one attempt; it settles when `fn` does, or rejects as soon as the caller aborts or the attempt times out. */
async function attemptOnce<T>(
	fn: (ctx: RetryContext) => Promise<T>,
	attempt: number,
	options: RetryOptions,
): Promise<T> {
	const { signal, timeoutMs } = options;
	const controller = new AbortController();
	const timer = timeoutMs
		? setTimeout(() => controller.abort(new AttemptTimeoutError(timeoutMs)), timeoutMs)
		: undefined;
	const attemptSignal = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
	let onAbort: (() => void) | undefined;
	try {
		return await Promise.race([
			fn({ attempt, signal: attemptSignal }),
			new Promise<never>((_, reject) => {
				onAbort = () => reject(attemptSignal.reason);
				attemptSignal.addEventListener('abort', onAbort, { once: true });
			}),
		]);
	} finally {
		clearTimeout(timer);
		if (onAbort) attemptSignal.removeEventListener('abort', onAbort);
	}
}

/**
 * Runs `fn` once with a time limit: it gets a signal that aborts after `timeoutMs` (or when `signal` does), and the
 * returned promise rejects at that moment with AttemptTimeoutError (or the signal's reason), even if `fn` ignores it.
 */
export function withTimeout<T>(
	fn: (signal: AbortSignal) => Promise<T>,
	timeoutMs: number,
	signal?: AbortSignal,
): Promise<T> {
	return attemptOnce(({ signal: attemptSignal }) => fn(attemptSignal), 1, { timeoutMs, signal });
}

/**
 * Calls `fn` until it succeeds, retrying retryable failures as `policy` says: at most policy.maxRetries retries,
 * waiting policy.getRetryDelay(n) ms before retry n, or longer when the server sent Retry-After (capped by
 * maxRetryAfterMs). Rejects with: the abort reason as soon as `signal` aborts; a non-retryable error as is;
 * RetryExhaustedError (every attempt's error and wait) when all attempts failed.
 */
export async function withRetry<T>(
	fn: (ctx: RetryContext) => Promise<T>,
	policy: RetryPolicy,
	options: RetryOptions = {},
): Promise<T> {
	const { signal, isRetryable = isRetryableError, onRetry, maxRetryAfterMs = 60_000 } = options;
	const attempts: AttemptRecord[] = [];
	for (let attempt = 1; ; attempt++) {
		if (signal?.aborted) throw abortReason(signal);
		await options.beforeAttempt?.(attempt);
		try {
			return await attemptOnce(fn, attempt, options);
		} catch (error) {
			if (signal?.aborted) throw abortReason(signal);
			if (isAbortError(error) || !isRetryable(error)) throw error;
			const record: AttemptRecord = { attempt, error };
			attempts.push(record);
			if (attempt > policy.maxRetries) throw new RetryExhaustedError(attempts);
			const serverWait = retryAfterMs(error);
			const delayMs = Math.max(
				policy.getRetryDelay(attempt),
				serverWait === undefined ? 0 : Math.min(serverWait, maxRetryAfterMs),
			);
			record.delayMs = delayMs;
			onRetry?.({ attempt, error, delayMs });
			await sleep(delayMs, signal);
		}
	}
}
