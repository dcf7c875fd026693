import { z } from 'zod';

import {
	applyJitter,
	assertAttempt,
	delayMs,
	jitterSchema,
	maxRetriesSchema,
	parseConfig,
	RetryPolicy,
	RetryPolicyError,
	type RetryPolicyJSON,
} from './policy';
import type { RandomSource } from './random';

/** Never retries: one attempt. */
export class NoRetryPolicy extends RetryPolicy {
	readonly type = 'none';

	readonly maxRetries = 0;

	getRetryDelay(attempt: number): number {
		assertAttempt(attempt);
		return 0;
	}

	toJSON(): RetryPolicyJSON {
		return { type: this.type };
	}
}

const fixedSchema = z.object({
	maxRetries: maxRetriesSchema,
	delay: delayMs('delay'),
	jitter: jitterSchema.default(0),
});

/**
 * The same delay before every retry.
 * config: maxRetries (count), delay (ms), jitter (0..1; each delay is drawn from [delay·(1 − jitter), delay]).
 * Throws RetryPolicyError for invalid values.
 */
export class FixedDelayRetryPolicy extends RetryPolicy {
	readonly type = 'fixed';

	readonly maxRetries: number;

	readonly delay: number;

	readonly jitter: number;

	constructor(
		config: { maxRetries: number; delay: number; jitter?: number },
		private readonly random: RandomSource = Math.random,
	) {
		super();
		({
			maxRetries: this.maxRetries,
			delay: this.delay,
			jitter: this.jitter,
		} = parseConfig('fixed-delay retry policy', fixedSchema, config));
	}

	getRetryDelay(attempt: number): number {
		assertAttempt(attempt);
		return applyJitter(this.delay, this.jitter, this.random);
	}

	toJSON(): RetryPolicyJSON {
		return { type: this.type, maxRetries: this.maxRetries, delay: this.delay, jitter: this.jitter };
	}
}

const exponentialSchema = z.object({
	maxRetries: maxRetriesSchema,
	initialDelay: delayMs('initialDelay'),
	maxDelay: delayMs('maxDelay'),
	multiplier: z
		.number()
		.finite()
		.min(1, 'multiplier must be ≥ 1')
		.max(100, 'multiplier must be ≤ 100')
		.default(2),
	jitter: jitterSchema.default(0),
});

/**
 * Exponential backoff: the delay before retry n is min(maxDelay, initialDelay · multiplier^(n − 1)), then jittered
 * downwards (drawn from [d·(1 − jitter), d]), so it is never negative and never above maxDelay.
 * jitter = 1 is "full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015).
 * config: maxRetries (count), initialDelay and maxDelay (ms, initialDelay ≤ maxDelay), multiplier (≥ 1), jitter (0..1).
 * Throws RetryPolicyError for invalid values.
 */
export class ExponentialBackoffRetryPolicy extends RetryPolicy {
	readonly type = 'exponential';

	readonly maxRetries: number;

	readonly initialDelay: number;

	readonly maxDelay: number;

	readonly multiplier: number;

	readonly jitter: number;

	constructor(
		config: {
			maxRetries: number;
			initialDelay: number;
			maxDelay: number;
			multiplier?: number;
			jitter?: number;
		},
		private readonly random: RandomSource = Math.random,
	) {
		super();
		const parsed = parseConfig('exponential backoff retry policy', exponentialSchema, config);
		if (parsed.initialDelay > parsed.maxDelay) {
			throw new RetryPolicyError(
				`Invalid exponential backoff retry policy configuration: initialDelay (${parsed.initialDelay} ms) must not exceed maxDelay (${parsed.maxDelay} ms)`,
			);
		}
		({
			maxRetries: this.maxRetries,
			initialDelay: this.initialDelay,
			maxDelay: this.maxDelay,
			multiplier: this.multiplier,
			jitter: this.jitter,
		} = parsed);
	}

	/** The delay before retry `attempt` without jitter, ms. */
	baseDelay(attempt: number): number {
		assertAttempt(attempt);
		// multiplier^(n−1) overflows to Infinity for large n; 0 · Infinity would be NaN.
		if (this.initialDelay === 0) return 0;
		return Math.min(this.maxDelay, this.initialDelay * this.multiplier ** (attempt - 1));
	}

	getRetryDelay(attempt: number): number {
		return applyJitter(this.baseDelay(attempt), this.jitter, this.random);
	}

	toJSON(): RetryPolicyJSON {
		const { type, maxRetries, initialDelay, maxDelay, multiplier, jitter } = this;
		return { type, maxRetries, initialDelay, maxDelay, multiplier, jitter };
	}
}

const withoutType = ({ type: _type, ...rest }: RetryPolicyJSON) => rest;
RetryPolicy.register('none', () => new NoRetryPolicy());
RetryPolicy.register(
	'fixed',
	(json, random) => new FixedDelayRetryPolicy(withoutType(json) as never, random),
);
RetryPolicy.register(
	'exponential',
	(json, random) => new ExponentialBackoffRetryPolicy(withoutType(json) as never, random),
);

/** The package default: exponential backoff, 3 retries, 500 ms initial, 30 s max, ×2, 0.2 jitter. */
export const DEFAULT_RETRY_POLICY_CONFIG = {
	maxRetries: 3,
	initialDelay: 500,
	maxDelay: 30_000,
	multiplier: 2,
	jitter: 0.2,
} as const;
