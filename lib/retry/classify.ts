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
	/** The error object of the response body, as the OpenAI SDK keeps it (APIError.error). */
	error?: unknown;
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
 * The `retryDelay` of a `google.rpc.RetryInfo` entry in a Google API error body's `details` (Gemini answers a 429
 * with no Retry-After header, the wait only there, as a protobuf duration such as "17s" or "45.837906927s"), in ms.
 */
function retryInfoDelayMs(body: unknown): number | undefined {
	const details = (body as { details?: unknown } | undefined)?.details;
	if (!Array.isArray(details)) return undefined;
	for (const detail of details) {
		const delay = (detail as { retryDelay?: unknown })?.retryDelay;
		const match = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay.trim()) : null;
		if (match) return Math.ceil(Number(match[1]) * 1000);
	}
	return undefined;
}

/**
 * The wait the server asked for, in milliseconds, from `retry-after-ms` or `Retry-After` (delta-seconds or an
 * HTTP-date, RFC 9110 §10.2.3) on the error's response headers, else a Google `RetryInfo` in the error body;
 * undefined when absent or unparseable. now: current time in ms since the epoch, for HTTP-dates.
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
	for (const e of errorChain(error)) {
		const delay = retryInfoDelayMs(e.error);
		if (delay !== undefined) return delay;
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
 * An `x-ratelimit-reset` value in ms from `now`: a Unix time in ms (OpenRouter) or seconds, a number of seconds, or a
 * duration ("1.5s").
 */
function resetValueMs(value: string, now: number): number | undefined {
	const trimmed = value.trim();
	if (/^\d+(\.\d+)?$/.test(trimmed)) {
		const n = Number(trimmed);
		if (n > 1e12) return Math.max(0, n - now);
		if (n > 1e9) return Math.max(0, n * 1000 - now);
		return n * 1000;
	}
	return parseResetDuration(trimmed);
}

/** "Please try again in 20s" / "retry after 6 seconds" / "Please retry in 47.43s" in an error message, in ms. */
function waitInMessageMs(message: unknown): number | undefined {
	const match =
		typeof message === 'string'
			? /(?:try again|retry)(?: after| in)? (\d+(?:\.\d+)?) ?(ms|s|seconds?|m|minutes?)\b/i.exec(
					message,
				)
			: null;
	if (!match) return undefined;
	const unit = match[2].toLowerCase();
	const factor = unit === 'ms' ? 1 : unit.startsWith('m') ? 60_000 : 1000;
	return Math.ceil(Number(match[1]) * factor);
}

/**
 * How long a provider's rate limit holds, ms: its Retry-After or RetryInfo (see retryAfterMs), else the later of its
 * `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` headers (OpenAI's durations such as "6m0s", also sent by
 * Groq and vLLM routers) or `x-ratelimit-reset` (OpenRouter: a Unix time in ms), else the wait its message names
 * ("Please try again in 20s"); undefined when the error says none of these.
 */
export function rateLimitResetMs(error: unknown, now: number = Date.now()): number | undefined {
	const retryAfter = retryAfterMs(error, now);
	if (retryAfter !== undefined) return retryAfter;
	let latest: number | undefined;
	for (const e of errorChain(error)) {
		const headers = e.headers ?? e.response?.headers;
		for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
			const value = header(headers, name);
			const ms = value === undefined ? undefined : parseResetDuration(value);
			if (ms !== undefined) latest = Math.max(latest ?? 0, ms);
		}
		const reset = header(headers, 'x-ratelimit-reset');
		const ms = reset === undefined ? undefined : resetValueMs(reset, now);
		if (ms !== undefined) latest = Math.max(latest ?? 0, ms);
	}
	if (latest !== undefined) return latest;
	for (const e of errorChain(error)) {
		const ms =
			waitInMessageMs(e.message) ?? waitInMessageMs((e.error as { message?: unknown })?.message);
		if (ms !== undefined) return ms;
	}
	return undefined;
}
