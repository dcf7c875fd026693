import fc from 'fast-check';

import {
	DEFAULT_RETRY_POLICY_CONFIG,
	ExponentialBackoffRetryPolicy,
	FixedDelayRetryPolicy,
	NoRetryPolicy,
	RetryPolicy,
	RetryPolicyError,
	seededRandom,
	type RetryPolicyJSON,
} from '../../../lib/retry';

const NUM_RUNS = 2000;

describe('ExponentialBackoffRetryPolicy', () => {
	it('grows by the multiplier and stops at maxDelay (no jitter)', () => {
		const policy = new ExponentialBackoffRetryPolicy({
			maxRetries: 6,
			initialDelay: 100,
			maxDelay: 1000,
			multiplier: 3,
		});
		expect([1, 2, 3, 4, 5].map((n) => policy.getRetryDelay(n))).toEqual([
			100, 300, 900, 1000, 1000,
		]);
	});

	it('uses the package defaults when built from them', () => {
		const policy = new ExponentialBackoffRetryPolicy(DEFAULT_RETRY_POLICY_CONFIG);
		expect(policy.toJSON()).toEqual({
			type: 'exponential',
			maxRetries: 3,
			initialDelay: 500,
			maxDelay: 30000,
			multiplier: 2,
			jitter: 0.2,
		});
	});

	it('property: every delay lies in [base·(1−jitter), base] with base = min(maxDelay, initial·m^(n−1)), never negative, never above maxDelay', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: 100 }),
				fc.integer({ min: 0, max: 60_000 }),
				fc.integer({ min: 0, max: 3_600_000 }),
				fc.double({ min: 1, max: 100, noNaN: true }),
				fc.double({ min: 0, max: 1, noNaN: true }),
				fc.integer({ min: 1, max: 200 }),
				fc.integer(),
				(maxRetries, initialDelay, extra, multiplier, jitter, attempt, seed) => {
					const maxDelay = Math.min(initialDelay + extra, 24 * 3600 * 1000);
					const policy = new ExponentialBackoffRetryPolicy(
						{ maxRetries, initialDelay, maxDelay, multiplier, jitter },
						seededRandom(seed),
					);
					// 0 · m^k is 0 even where m^k overflows to Infinity in floating point.
					const base =
						initialDelay === 0 ? 0 : Math.min(maxDelay, initialDelay * multiplier ** (attempt - 1));
					const delay = policy.getRetryDelay(attempt);
					expect(delay).toBeGreaterThanOrEqual(0);
					expect(delay).toBeLessThanOrEqual(maxDelay);
					expect(delay).toBeLessThanOrEqual(base);
					expect(delay).toBeGreaterThanOrEqual(base * (1 - jitter) - 1e-9);
				},
			),
			{ numRuns: NUM_RUNS },
		);
	});

	it('property: base delays never decrease from one attempt to the next', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: 10_000 }),
				fc.integer({ min: 0, max: 100_000 }),
				fc.double({ min: 1, max: 10, noNaN: true }),
				(initialDelay, extra, multiplier) => {
					const policy = new ExponentialBackoffRetryPolicy({
						maxRetries: 10,
						initialDelay,
						maxDelay: initialDelay + extra,
						multiplier,
					});
					for (let n = 1; n < 30; n++)
						expect(policy.baseDelay(n + 1)).toBeGreaterThanOrEqual(policy.baseDelay(n));
				},
			),
			{ numRuns: NUM_RUNS },
		);
	});

	it('jitter is deterministic for a seed and actually varies', () => {
		const config = { maxRetries: 3, initialDelay: 1000, maxDelay: 1000, jitter: 1 };
		const a = new ExponentialBackoffRetryPolicy(config, seededRandom(42));
		const b = new ExponentialBackoffRetryPolicy(config, seededRandom(42));
		const delaysA = Array.from({ length: 50 }, () => a.getRetryDelay(1));
		expect(delaysA).toEqual(Array.from({ length: 50 }, () => b.getRetryDelay(1)));
		expect(new Set(delaysA).size).toBeGreaterThan(40);
		// Full jitter spreads over [0, base]: the sample mean is near base/2.
		const mean = delaysA.reduce((s, d) => s + d, 0) / delaysA.length;
		expect(mean).toBeGreaterThan(300);
		expect(mean).toBeLessThan(700);
	});

	it.each([
		[
			{ maxRetries: 3, initialDelay: 5000, maxDelay: 1000 },
			/initialDelay \(5000 ms\) must not exceed maxDelay \(1000 ms\)/,
		],
		[{ maxRetries: -1, initialDelay: 1, maxDelay: 2 }, /maxRetries: maxRetries must be ≥ 0/],
		[{ maxRetries: 1.5, initialDelay: 1, maxDelay: 2 }, /maxRetries must be a whole number/],
		[{ maxRetries: 1, initialDelay: 1, maxDelay: 2, multiplier: 0.5 }, /multiplier must be ≥ 1/],
		[
			{ maxRetries: 1, initialDelay: 1, maxDelay: 2, jitter: 1.5 },
			/jitter must be between 0 and 1/,
		],
		[
			{ maxRetries: 1, initialDelay: 'soon', maxDelay: 2 },
			/initialDelay must be a number of milliseconds/,
		],
	])('rejects %j with a clear error', (config, message) => {
		expect(() => new ExponentialBackoffRetryPolicy(config as never)).toThrow(RetryPolicyError);
		expect(() => new ExponentialBackoffRetryPolicy(config as never)).toThrow(message);
	});

	it('rejects attempt numbers below 1', () => {
		const policy = new ExponentialBackoffRetryPolicy({
			maxRetries: 1,
			initialDelay: 1,
			maxDelay: 2,
		});
		expect(() => policy.getRetryDelay(0)).toThrow(/attempt must be a whole number ≥ 1/);
	});
});

describe('FixedDelayRetryPolicy', () => {
	it('waits the same delay every time without jitter', () => {
		const policy = new FixedDelayRetryPolicy({ maxRetries: 4, delay: 250 });
		expect([1, 2, 3, 4].map((n) => policy.getRetryDelay(n))).toEqual([250, 250, 250, 250]);
	});

	it('property: jittered delays lie in [delay·(1−jitter), delay]', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: 100 }),
				fc.integer({ min: 0, max: 86_400_000 }),
				fc.double({ min: 0, max: 1, noNaN: true }),
				fc.integer(),
				(maxRetries, delay, jitter, seed) => {
					const policy = new FixedDelayRetryPolicy(
						{ maxRetries, delay, jitter },
						seededRandom(seed),
					);
					const value = policy.getRetryDelay(1 + ((seed >>> 0) % 50));
					expect(value).toBeLessThanOrEqual(delay);
					expect(value).toBeGreaterThanOrEqual(delay * (1 - jitter) - 1e-9);
				},
			),
			{ numRuns: NUM_RUNS },
		);
	});

	it('rejects a negative delay', () => {
		expect(() => new FixedDelayRetryPolicy({ maxRetries: 1, delay: -5 })).toThrow(
			/delay: delay must be ≥ 0 ms/,
		);
	});
});

describe('serialisation', () => {
	it('property: every policy survives a toJSON → JSON text → fromJSON round trip', () => {
		const configs = fc.oneof(
			fc.constant<RetryPolicyJSON>({ type: 'none' }),
			fc.record({
				type: fc.constant('fixed'),
				maxRetries: fc.integer({ min: 0, max: 100 }),
				delay: fc.integer({ min: 0, max: 1e6 }),
				jitter: fc.double({ min: 0, max: 1, noNaN: true }),
			}),
			fc.record({
				type: fc.constant('exponential'),
				maxRetries: fc.integer({ min: 0, max: 100 }),
				initialDelay: fc.integer({ min: 0, max: 1e5 }),
				maxDelay: fc.integer({ min: 1e5, max: 1e7 }),
				multiplier: fc.double({ min: 1, max: 100, noNaN: true }),
				jitter: fc.double({ min: 0, max: 1, noNaN: true }),
			}),
		);
		fc.assert(
			fc.property(configs, (json) => {
				const policy = RetryPolicy.fromJSON(json);
				const again = RetryPolicy.fromJSON(JSON.parse(JSON.stringify(policy)));
				expect(again).toBeInstanceOf(policy.constructor);
				expect(again.toJSON()).toEqual(policy.toJSON());
				expect(again.maxRetries).toBe(policy.maxRetries);
			}),
			{ numRuns: NUM_RUNS },
		);
	});

	it('rebuilds NoRetryPolicy', () => {
		const policy = RetryPolicy.fromJSON(new NoRetryPolicy().toJSON());
		expect(policy).toBeInstanceOf(NoRetryPolicy);
		expect(policy.maxRetries).toBe(0);
	});

	it('rejects an unknown type, naming the known ones', () => {
		expect(() => RetryPolicy.fromJSON({ type: 'quantum' })).toThrow(
			/Unknown retry policy type "quantum" \(known: .*exponential/,
		);
		expect(() => RetryPolicy.fromJSON({ maxRetries: 3 })).toThrow(/string "type"/);
		expect(() => RetryPolicy.fromJSON(null)).toThrow(RetryPolicyError);
	});

	it('rejects bad fields in serialised form', () => {
		expect(() => RetryPolicy.fromJSON({ type: 'fixed', maxRetries: 2 })).toThrow(/delay/);
	});

	it('lets a custom policy register itself and round-trip', () => {
		class LinearRetryPolicy extends RetryPolicy {
			readonly type = 'linear-test';

			constructor(
				readonly maxRetries: number,
				readonly step: number,
			) {
				super();
			}

			getRetryDelay(attempt: number) {
				return attempt * this.step;
			}

			toJSON() {
				return { type: this.type, maxRetries: this.maxRetries, step: this.step };
			}
		}
		RetryPolicy.register(
			'linear-test',
			(json) => new LinearRetryPolicy(json.maxRetries as number, json.step as number),
		);
		const policy = RetryPolicy.fromJSON({ type: 'linear-test', maxRetries: 3, step: 100 });
		expect(policy).toBeInstanceOf(LinearRetryPolicy);
		expect(policy.getRetryDelay(3)).toBe(300);
		expect(RetryPolicy.registeredTypes()).toContain('linear-test');
	});
});
