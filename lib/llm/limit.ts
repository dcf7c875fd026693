/**
 * Model requests under a provider rate limit shared by every worker (lib/ratelimit): a slot is acquired before each
 * attempt (outside the attempt's time limit), the tokens charged are corrected with what the provider reported, and a
 * 429 sets the shared cool-down for as long as the provider asked, so the other workers wait it out too.
 */
import type { Lease, ProviderRateLimiter } from '../ratelimit';
import { httpStatusOf, rateLimitResetMs } from '../retry';
import type { CallOptions } from './calls';

export interface RateLimit {
	limiter: ProviderRateLimiter;
	/** The key a model's requests are counted under: a name the user gave, else "<base URL>#<model>". */
	keyFor(model: string | undefined): string;
}

/** The key of `model` on the server at `baseUrl`, or the user's `name` for the limit (one limit for all models). */
export function rateLimitKey(baseUrl: string, model: string | undefined, name?: string): string {
	return name?.trim() || `${baseUrl}#${model ?? ''}`;
}

/** The cool-down after a 429 that names no wait, ms. */
const DEFAULT_COOL_DOWN_MS = 1_000;

/** A prompt's tokens estimated from its characters (≈ 4 per token for English under OpenAI's tokenizers). */
export function estimateTokens(characters: number): number {
	return Math.ceil(characters / 4);
}

interface Gate {
	/** For withRetry's beforeAttempt: waits for a slot (at most the call's timeoutMs, cancelled by its signal). */
	beforeAttempt?: () => Promise<void>;
	/** Runs one attempt in the slot: settles its tokens (`reported`), cools down on 429, frees the slot. */
	run<T>(attempt: () => Promise<T>, reported?: (value: T) => number | undefined): Promise<T>;
}

/**
 * The per-attempt gate of one model's requests under `options.rateLimit` (a no-op without one): each attempt waits
 * for a slot for `tokens` (the request's estimate), at most options.timeoutMs, cancelled by options.signal; waits go
 * to options.usage.
 */
export function rateLimitGate(
	options: Pick<CallOptions, 'rateLimit' | 'signal' | 'timeoutMs' | 'usage'>,
	model: string | undefined,
	tokens: number,
): Gate {
	const { rateLimit } = options;
	if (!rateLimit) return { run: (attempt) => attempt() };
	const key = rateLimit.keyFor(model);
	let lease: Lease | undefined;
	return {
		beforeAttempt: async () => {
			lease = await rateLimit.limiter.acquire(key, {
				tokens,
				signal: options.signal,
				maxWaitMs: options.timeoutMs,
			});
			options.usage?.recordRateLimitWait(lease.waitMs, lease.warning);
		},
		run: async (attempt, reported) => {
			const current = lease;
			lease = undefined;
			try {
				const value = await attempt();
				const actual = reported?.(value);
				if (current && actual !== undefined) void current.settle(actual);
				return value;
			} catch (error) {
				// coolDown falls back to this process's counters by itself when the store fails.
				if (httpStatusOf(error) === 429)
					await rateLimit.limiter.coolDown(key, rateLimitResetMs(error) ?? DEFAULT_COOL_DOWN_MS);
				throw error;
			} finally {
				current?.release();
			}
		},
	};
}
