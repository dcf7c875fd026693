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
	/** Window length, whole seconds (the stores count in whole seconds). */
	seconds: number;
	/** What may be consumed in one window. */
	points: number;
}

/**
 * The window a requests-per-minute limit is enforced in: one second (or the shortest whole-second window holding one
 * request), with the per-minute allowance spread evenly, so no burst ever exceeds one second's share. Providers
 * enforce per-minute limits in short sub-windows too (OpenAI: "60,000 requests/minute may be enforced as 1,000
 * requests/second"), so a whole minute's requests sent at once would be refused even though the minute allows them.
 */
export function requestWindow(perMinute: number): Window {
	const seconds = Math.max(1, Math.ceil(60 / perMinute));
	return { seconds, points: Math.max(1, Math.floor((perMinute * seconds) / 60)) };
}

/**
 * The window a tokens-per-minute limit is enforced in: 10 s with a sixth of the minute's tokens, short enough to
 * spread bursts, long enough that one large prompt fits (a request estimated above a window's tokens is charged the
 * whole window: it waits for an empty window, then takes it).
 */
export function tokenWindow(perMinute: number): Window {
	return { seconds: 10, points: Math.max(1, Math.floor(perMinute / 6)) };
}
