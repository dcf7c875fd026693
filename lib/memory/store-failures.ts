/**
 * What a failed store call means, read from the error's shape (ioredis and pg are not imported): the store did not
 * answer in time (store_timeout) or could not be reached, dropped the connection, or is shutting down
 * (store_unavailable). Memory retries these and names them with MemoryError; openFailure names a store that could not
 * be opened at all.
 */
import { errorChain, httpStatusOf, isRetryableError, RetryExhaustedError } from '../retry';
import { MemoryError } from './errors';

type StoreFailureCode = 'store_timeout' | 'store_unavailable';

/** An error's message, also of an error from another realm (Node's socket errors seen inside a vm context). */
function messageOf(error: unknown): string {
	const message = (error as { message?: unknown } | null)?.message;
	return typeof message === 'string' ? message : String(error);
}

/**
 * Postgres SQLSTATEs of a server that cannot serve now: serialization failure, deadlock, shutdown, cannot connect now,
 * too many connections, and the 08xxx connection class.
 */
const PG_UNAVAILABLE = /^(40001|40P01|57P01|57P02|57P03|53300|08...)$/;

/** Network codes isRetryableError leaves out (a retry rarely helps); for a store they still mean "not reached". */
const UNREACHABLE_CODES = new Set(['ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * Connection failures as ioredis and pg word them: ioredis's MaxRetriesPerRequestError (the connection stayed down
 * through its reconnection attempts), its closed connection and unwritable stream, pg's lost connection, and the
 * Redis replies of a server that is starting or busy (LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN).
 */
const UNAVAILABLE_MESSAGE =
	/Reached the max retries per request limit|Connection is closed|Stream isn't writeable|None of the sentinels are available|Failed to refresh slots cache|Connection terminated|connection error and is not queryable|^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN) /i;

/**
 * Time limits: our attempt timeout, ioredis's command and connect timeouts, pg's query read timeout, statement timeout
 * (SQLSTATE 57014), connection timeout and pool wait.
 */
const TIMEOUT_MESSAGE =
	/Command timed out|connect ETIMEDOUT|Query read timeout|statement timeout|connection timeout|timeout expired|timeout exceeded when trying to connect/i;

/**
 * store_timeout or store_unavailable for a store's failure (see the file comment), else undefined: our own errors
 * (MemoryError), HTTP errors, cancellation and the server's answers (a constraint, a syntax error) are not store
 * failures. ETIMEDOUT counts as a timeout.
 */
export function storeFailureCode(error: unknown): StoreFailureCode | undefined {
	const chain = errorChain(error);
	if (
		error instanceof MemoryError ||
		chain.some((e) => e.name === 'AbortError') ||
		httpStatusOf(error) !== undefined
	)
		return undefined;
	if (
		chain.some(
			(e) =>
				e.name === 'AttemptTimeoutError' ||
				e.name === 'TimeoutError' ||
				e.code === '57014' ||
				e.code === 'ETIMEDOUT' ||
				TIMEOUT_MESSAGE.test(String(e.message)),
		)
	)
		return 'store_timeout';
	if (
		isRetryableError(error) ||
		chain.some(
			(e) =>
				e.name === 'MaxRetriesPerRequestError' ||
				PG_UNAVAILABLE.test(String(e.code)) ||
				UNREACHABLE_CODES.has(String(e.code)) ||
				UNAVAILABLE_MESSAGE.test(String(e.message)),
		)
	)
		return 'store_unavailable';
	return undefined;
}

/** The MemoryError in an error's chain (an n8n error wrapping it, a CheckpointError), if any. */
export function memoryErrorOf(error: unknown): MemoryError | undefined {
	return errorChain(error).find((e): e is MemoryError => e instanceof MemoryError);
}

/**
 * The error a store call ends with: MemoryError store_timeout ("… did not answer in time") or store_unavailable
 * ("… could not be reached"), naming the store's `address` and the attempts made; anything else (our own errors,
 * cancellation, the server's answers) as it is.
 */
export function storeFailure(
	error: unknown,
	context: { address: string; signal?: AbortSignal },
): unknown {
	if (error instanceof MemoryError || context.signal?.aborted) return error;
	const last = error instanceof RetryExhaustedError ? error.lastError : error;
	const code = storeFailureCode(last);
	if (!code) return error;
	const attempts = error instanceof RetryExhaustedError ? error.attempts.length : 1;
	const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
	const what = code === 'store_timeout' ? 'did not answer in time' : 'could not be reached';
	return new MemoryError(
		`The memory store (${context.address}) ${what} (${tries}): ${messageOf(last)}`,
		code,
		{ cause: error },
	);
}

/**
 * A store that could not be opened (connected, authenticated, TLS verified): MemoryError store_timeout when it did
 * not answer in time, else store_unavailable, naming the store at `address`. A MemoryError is returned as it is.
 */
export function openFailure(error: unknown, address: string): MemoryError {
	if (error instanceof MemoryError) return error;
	return new MemoryError(
		`Cannot open the memory store (${address}): ${messageOf(error)}`,
		storeFailureCode(error) === 'store_timeout' ? 'store_timeout' : 'store_unavailable',
		{ cause: error },
	);
}
