/** A provider's limits as the user configured them, and the fixed windows they are enforced in. */

export interface ProviderLimits {
	/** Requests per minute across every worker; 0 or undefined = no limit. */
	requestsPerMinute?: number;
	/** Prompt + completion tokens per minute across every worker; 0 or undefined = no limit. */
	tokensPerMinute?: number;
	/** Requests in flight at once across every worker; 0 or undefined = no limit. */
	maxConcurrent?: number;
}

export class RateLimitConfigError extends Error {
	override name = 'RateLimitConfigError';
	readonly code = 'rate_limit_config';
}

/** Throws RateLimitConfigError naming the field when a limit is negative, fractional or not a number. */
export function checkLimits(limits: ProviderLimits): void {
	for (const [field, value] of Object.entries(limits)) {
		if (value === undefined) continue;
		if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
			throw new RateLimitConfigError(
				`Rate limit ${field} must be a whole number ≥ 0 (0 = no limit), got ${JSON.stringify(value)}`,
			);
	}
}

export function hasLimits(limits: ProviderLimits): boolean {
	return Boolean(limits.requestsPerMinute || limits.tokensPerMinute || limits.maxConcurrent);
}

export interface Window {
	/** Window length, ms. Windows are aligned to the clock: window n covers [n × ms, (n + 1) × ms). */
	ms: number;
	/** What may be consumed in one window. */
	points: number;
}

/**
 * The window a requests-per-minute limit is enforced in: a tenth of a second's share (or the window holding one
 * request, when that is longer), so requests flow at the provider's rate instead of a minute's worth at once.
 * Providers refill continuously and enforce per-minute limits in short sub-windows too (OpenAI: "60,000
 * requests/minute may be enforced as 1,000 requests/second"); with 100 ms windows no burst exceeds two tenths of a
 * second's share.
 */
export function requestWindow(perMinute: number): Window {
	const points = Math.max(1, Math.floor(perMinute / 600));
	return { ms: (60_000 * points) / perMinute, points };
}

/**
 * The window a tokens-per-minute limit is enforced in: 10 s with a sixth of the minute's tokens, short enough to
 * spread bursts, long enough that one large prompt fits (a request estimated above a window's tokens is charged the
 * whole window: it waits for an empty window, then takes it).
 */
export function tokenWindow(perMinute: number): Window {
	return { ms: 10_000, points: Math.max(1, Math.floor(perMinute / 6)) };
}
