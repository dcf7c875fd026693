/**
 * Which failures are worth retrying, and how long the server asked us to wait.
 * Errors are read by shape (status, code, headers, cause), so this works for fetch, the OpenAI SDK, LangChain,
 * chromadb, ioredis, pg and n8n's own request helpers without importing any of them.
 */

/** HTTP statuses that may succeed when retried: timeout, conflict/lock, too early, rate limit, server errors. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/** Network error codes (Node, undici) that mean the request may not have reached or finished on the server. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ETIMEDOUT',
	'EAI_AGAIN',
	'EPIPE',
	'ECONNABORTED',
	'UND_ERR_SOCKET',
	'UND_ERR_CONNECT_TIMEOUT',
	'UND_ERR_HEADERS_TIMEOUT',
	'UND_ERR_BODY_TIMEOUT',
]);

// By class name where a client reports HTTP or network failures without a status or code: the OpenAI SDK, chromadb.
const RETRYABLE_NAMES = new Set([
	'APIConnectionError',
	'APIConnectionTimeoutError',
	'AttemptTimeoutError',
	'TimeoutError',
	'ChromaConnectionError',
	'ChromaServerError',
	'ChromaRateLimitError',
]);
const RETRYABLE_MESSAGE =
	/socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|network error|premature close|terminated/i;

type ErrorLike = {
	name?: unknown;
	message?: unknown;
	code?: unknown;
	status?: unknown;
	statusCode?: unknown;
	httpCode?: unknown;
	response?: { status?: unknown; headers?: unknown };
	headers?: unknown;
	cause?: unknown;
};

/** The error and its causes, outermost first (at most 5 deep). */
export function errorChain(error: unknown): ErrorLike[] {
	const out: ErrorLike[] = [];
	let current: unknown = error;
	while (current && typeof current === 'object' && out.length < 5) {
		out.push(current as ErrorLike);
		current = (current as ErrorLike).cause;
	}
	return out;
}

/** HTTP status carried by the error or one of its causes, if any. */
export function httpStatusOf(error: unknown): number | undefined {
	for (const e of errorChain(error)) {
		for (const candidate of [e.status, e.statusCode, e.httpCode, e.response?.status]) {
			const status = typeof candidate === 'string' ? Number(candidate) : candidate;
			if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status < 600)
				return status;
		}
	}
	return undefined;
}

export function isAbortError(error: unknown): boolean {
	return errorChain(error).some((e) => e.name === 'AbortError' || e.name === 'APIUserAbortError');
}

/**
 * Default retry classification: network errors (ECONNRESET, ECONNREFUSED, ETIMEDOUT, EAI_AGAIN, socket hang up, ...),
 * attempt timeouts and HTTP 408, 409, 425, 429, 500, 502, 503, 504 are retryable; aborts, other 4xx, validation and
 * auth errors are not.
 */
export function isRetryableError(error: unknown): boolean {
	if (isAbortError(error)) return false;
	const status = httpStatusOf(error);
	if (status !== undefined) return RETRYABLE_STATUSES.has(status);
	return errorChain(error).some(
		(e) =>
			(typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) ||
			(typeof e.name === 'string' && RETRYABLE_NAMES.has(e.name)) ||
			(typeof e.message === 'string' && RETRYABLE_MESSAGE.test(e.message)),
	);
}

function header(headers: unknown, name: string): string | undefined {
	if (!headers || typeof headers !== 'object') return undefined;
	if (typeof (headers as Headers).get === 'function')
		return (headers as Headers).get(name) ?? undefined;
	const entry = Object.entries(headers as Record<string, unknown>).find(
		([k]) => k.toLowerCase() === name,
	);
	const value = Array.isArray(entry?.[1]) ? entry?.[1][0] : entry?.[1];
	return value === undefined ? undefined : String(value);
}

/**
 * The wait the server asked for, in milliseconds, from `retry-after-ms` or `Retry-After` (delta-seconds or an
 * HTTP-date, RFC 9110 §10.2.3) on the error's response headers; undefined when absent or unparseable.
 * now: current time in ms since the epoch, for HTTP-dates.
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
	for (const e of errorChain(error)) {
		const headers = e.headers ?? e.response?.headers;
		const ms = header(headers, 'retry-after-ms');
		if (ms !== undefined && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
		const value = header(headers, 'retry-after')?.trim();
		if (value === undefined || value === '') continue;
		if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
		const date = Date.parse(value);
		if (!Number.isNaN(date)) return Math.max(0, date - now);
	}
	return undefined;
}

/** A reset duration as OpenAI's x-ratelimit-reset-* headers give it ("20ms", "1.5s", "6m0s", "1h2m3s"), in ms. */
export function parseResetDuration(value: string): number | undefined {
	const parts = [...value.trim().matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
	if (!parts.length || parts.map((p) => p[0]).join('') !== value.trim()) return undefined;
	const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
	return parts.reduce((ms, [, n, u]) => ms + Number(n) * unit[u as keyof typeof unit], 0);
}

/**
 * How long a provider's rate limit holds, ms: its Retry-After (see retryAfterMs), else the later of its
 * `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` headers (OpenAI's, also sent by Groq, vLLM routers and
 * others); undefined when the error says neither.
 */
export function rateLimitResetMs(error: unknown): number | undefined {
	const retryAfter = retryAfterMs(error);
	if (retryAfter !== undefined) return retryAfter;
	let latest: number | undefined;
	for (const e of errorChain(error)) {
		const headers = e.headers ?? e.response?.headers;
		for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
			const value = header(headers, name);
			const ms = value === undefined ? undefined : parseResetDuration(value);
			if (ms !== undefined) latest = Math.max(latest ?? 0, ms);
		}
	}
	return latest;
}
