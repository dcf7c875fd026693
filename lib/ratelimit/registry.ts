/**
 * One limiter per store and limits in each process, reused by every execution the process runs, so a worker keeps one
 * connection to the shared store however many executions it runs.
 */
import type { ProviderLimits } from './limits';
import { ProviderRateLimiter } from './limiter';
import { limiterStoreFor, memoryLimiterStore } from './stores';

const limiters = new Map<string, ProviderRateLimiter>();

/**
 * The process's limiter for `limits` counted in the store at `storeUrl` (undefined: in this process only). Throws
 * RateLimitConfigError for invalid limits and Error for a URL of another scheme.
 */
export function processRateLimiter(
	storeUrl: string | undefined,
	limits: ProviderLimits,
	log?: (line: string) => void,
): ProviderRateLimiter {
	const id = JSON.stringify([storeUrl ?? '', limits]);
	let limiter = limiters.get(id);
	if (!limiter) {
		limiter = new ProviderRateLimiter(
			storeUrl ? limiterStoreFor(storeUrl) : memoryLimiterStore(),
			limits,
			{ log },
		);
		limiters.set(id, limiter);
	}
	return limiter;
}

/** Closes every limiter of this process (tests, shutdown). */
export async function closeProcessRateLimiters(): Promise<void> {
	const all = [...limiters.values()];
	limiters.clear();
	await Promise.all(all.map((l) => l.close()));
}
