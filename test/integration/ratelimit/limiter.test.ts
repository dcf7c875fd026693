/**
 * The cluster-wide rate limiter on real Redis and real Postgres: separate processes sharing one limit never exceed it
 * (random request sizes and hold times from fast-check seeds), a cool-down set by one limiter holds another back,
 * waits can be cancelled or bounded, tokens are corrected after the call, and a store that is down falls back to
 * counting in this process with a warning.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import fc from 'fast-check';

import {
	limiterStoreFor,
	memoryLimiterStore,
	ProviderRateLimiter,
	RateLimitConfigError,
	RateLimitWaitError,
	requestWindow,
	tokenWindow,
	type LimiterStore,
	type ProviderLimits,
} from '../../../lib/ratelimit';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
	redisUrl,
} from '../../../stack/services';
import { busiestSpan, roomInWindow } from '../../support/windows';

const run = randomBytes(4).toString('hex');
const prefix = `openagents-test-rl-${run}`;
const database = `openagents_test_rl_${run}`;
const redis = redisFromEnv();
const pg = postgresFromEnv();
const URLS: Record<string, string> = {
	redis: redisUrl(redis),
	postgres: `postgres://${encodeURIComponent(pg.user)}${pg.password ? `:${encodeURIComponent(pg.password)}` : ''}@${pg.host}:${pg.port}/${database}`,
};
const stores: LimiterStore[] = [];
const storeFor = (kind: string) => {
	const store = limiterStoreFor(URLS[kind]);
	stores.push(store);
	return store;
};

beforeAll(async () => {
	await createDatabaseIfMissing(pg, database);
});

afterAll(async () => {
	await Promise.all(stores.map((s) => s.close()));
	await deleteKeys(redis, `${prefix}*`);
	await dropDatabase(pg, database);
});

let keyCounter = 0;
const freshKey = () => `http://model.test/v1#m-${run}-${++keyCounter}`;

interface Grant {
	at: number;
	end: number;
	tokens: number;
}

/** Runs `processes` limiter-worker processes against one store and key; returns every grant of all of them. */
async function shareLimit(
	url: string,
	limits: ProviderLimits,
	options: { processes: number; seed: number; maxTokens: number; maxHoldMs: number },
): Promise<Grant[]> {
	const key = freshKey();
	const startAt = Date.now() + 2_500; // after every process has started
	const outputs = await Promise.all(
		Array.from({ length: options.processes }, (_, i) =>
			promisify(execFile)(
				process.execPath,
				[
					'--import',
					'tsx',
					'test/support/limiter-worker.ts',
					JSON.stringify({
						url,
						key,
						prefix,
						limits,
						loops: 6,
						durationMs: 2_500,
						seed: options.seed + i,
						maxTokens: options.maxTokens,
						maxHoldMs: options.maxHoldMs,
						startAt,
					}),
				],
				{ timeout: 30_000 },
			),
		),
	);
	return outputs.flatMap(({ stdout }) => JSON.parse(stdout) as Grant[]);
}

/** Most leases held at once. */
function maxOverlap(grants: Grant[]): number {
	const events = grants.flatMap((g) => [
		[g.at, 1],
		[g.end, -1],
	]);
	events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
	let held = 0;
	let best = 0;
	for (const [, delta] of events) best = Math.max(best, (held += delta));
	return best;
}

describe('limits', () => {
	it("spreads a per-minute request limit over clock-aligned windows of at most a tenth of a second's share", () => {
		expect(requestWindow(600)).toEqual({ ms: 100, points: 1 });
		expect(requestWindow(1_200)).toEqual({ ms: 100, points: 2 });
		expect(requestWindow(60_000)).toEqual({ ms: 100, points: 100 });
		expect(requestWindow(120)).toEqual({ ms: 500, points: 1 });
		expect(requestWindow(7).ms).toBeCloseTo(8_571.43, 2);
		expect(tokenWindow(60_000)).toEqual({ ms: 10_000, points: 10_000 });
	});

	it('rejects negative or fractional limits at construction, naming the field', () => {
		expect(() => new ProviderRateLimiter(memoryLimiterStore(), { requestsPerMinute: -1 })).toThrow(
			RateLimitConfigError,
		);
		expect(() => new ProviderRateLimiter(memoryLimiterStore(), { maxConcurrent: 1.5 })).toThrow(
			/maxConcurrent must be a whole number/,
		);
	});
});

describe.each(['redis', 'postgres'])('%s store', (kind) => {
	// 600 requests/min = 10 per 1 s window; 6 000 tokens/min = 1 000 per 10 s window; 3 in flight.
	const limits = { requestsPerMinute: 600, tokensPerMinute: 6_000, maxConcurrent: 3 };

	it('two processes sharing one limit never exceed it (random request sizes and hold times)', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.integer({ min: 1, max: 1_000_000 }),
				fc.integer({ min: 20, max: 300 }),
				fc.integer({ min: 0, max: 60 }),
				async (seed, maxTokens, maxHoldMs) => {
					const grants = await shareLimit(URLS[kind], limits, {
						processes: 2,
						seed,
						maxTokens,
						maxHoldMs,
					});
					expect(grants.length).toBeGreaterThan(0);
					// Windows of 100 ms holding 1 request: any 1 s span overlaps at most 11 of them (one more when a busy
					// process wakes late for its reserved window: lateness only ever moves a request later).
					expect(
						busiestSpan(
							grants.map((g) => g.at),
							1_000,
						),
					).toBeLessThanOrEqual(12);
					// 2.5 s of grants touch at most 26 request windows and 2 token windows (1 000 tokens each).
					expect(grants.length).toBeLessThanOrEqual(26);
					expect(grants.reduce((sum, g) => sum + g.tokens, 0)).toBeLessThanOrEqual(2_000);
					expect(maxOverlap(grants)).toBeLessThanOrEqual(3);
				},
			),
			{ numRuns: 2, endOnFailure: true },
		);
	}, 90_000);

	it('the same check fails when each process counts on its own (it can tell a shared limit from none)', async () => {
		const grants = await shareLimit(
			'memory',
			{ requestsPerMinute: 600 },
			{
				processes: 2,
				seed: 7,
				maxTokens: 10,
				maxHoldMs: 0,
			},
		);
		expect(grants.length).toBeGreaterThan(26);
	}, 60_000);

	it("a provider's cool-down set through one limiter holds back another (a second process's view)", async () => {
		const key = freshKey();
		const a = new ProviderRateLimiter(storeFor(kind), { requestsPerMinute: 6_000 }, { prefix });
		const b = new ProviderRateLimiter(storeFor(kind), { requestsPerMinute: 6_000 }, { prefix });
		await a.coolDown(key, 1_200);
		const lease = await b.acquire(key);
		lease.release();
		expect(lease.waitMs).toBeGreaterThanOrEqual(1_000);
		expect(lease.waitMs).toBeLessThan(2_600);
		expect(lease.warning).toBeUndefined();
		const other = await b.acquire(freshKey());
		expect(other.waitMs).toBeLessThan(200); // other keys are not held back
	}, 20_000);

	it('gives waiting requests evenly spaced places in the coming windows, and takes back the place of one cancelled', async () => {
		const key = freshKey();
		const limiter = new ProviderRateLimiter(storeFor(kind), { requestsPerMinute: 600 }, { prefix });
		const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
		const started = Date.now();
		const granted = (options = {}) =>
			limiter.acquire(key, options).then(
				() => Date.now() - started,
				() => undefined,
			);
		const first = Array.from({ length: 7 }, () => granted()); // one per 100 ms window: 7 windows
		await sleep(30);
		const cancelled = new AbortController();
		const eighth = granted({ signal: cancelled.signal }); // reserves the 8th window, ~700 ms ahead
		await sleep(30);
		cancelled.abort();
		expect(await eighth).toBeUndefined();
		const ninth = (await granted())!; // takes the place the cancelled one gave back
		const times = [...((await Promise.all(first)) as number[]), ninth].sort((a, b) => a - b);
		// 8 requests in 8 windows of 100 ms (from a window already under way): the cancelled place was reused.
		expect(times.at(-1)!).toBeLessThan(850);
		// Spread over the windows, not sent at once. Windows are clock-aligned, so the first one began less than 100 ms
		// before `started` and the 8th begins more than 600 ms after it. Measured from `started`, not from the first
		// grant: a busy event loop records a grant late, which moved the first time up and the gap down (549 ms seen in
		// CI); lateness can only raise this bound's side. 10 ms spare for timers firing before Date.now() ticks.
		expect(times.at(-1)!).toBeGreaterThanOrEqual(590);
	}, 20_000);

	it('a wait for a slot ends when the signal aborts, and frees nothing it did not take', async () => {
		const key = freshKey();
		const limiter = new ProviderRateLimiter(storeFor(kind), { maxConcurrent: 1 }, { prefix });
		const held = await limiter.acquire(key);
		const controller = new AbortController();
		setTimeout(() => controller.abort(new Error('execution cancelled')), 150);
		const started = Date.now();
		await expect(limiter.acquire(key, { signal: controller.signal })).rejects.toThrow(
			'execution cancelled',
		);
		expect(Date.now() - started).toBeLessThan(1_000);
		await expect(limiter.acquire(key, { maxWaitMs: 200 })).rejects.toThrow(RateLimitWaitError);
		held.release();
		const next = await limiter.acquire(key, { maxWaitMs: 1_000 });
		expect(next.waitMs).toBeLessThan(500);
		next.release();
	}, 20_000);

	it('charges the reported tokens after the call, so the next request waits for them', async () => {
		const key = freshKey();
		await roomInWindow(10_000, 2_000);
		// 600 tokens per 10 s window.
		const limiter = new ProviderRateLimiter(storeFor(kind), { tokensPerMinute: 3_600 }, { prefix });
		const first = await limiter.acquire(key, { tokens: 100 });
		await first.settle(550); // the provider reported more than the estimate
		await expect(limiter.acquire(key, { tokens: 100, maxWaitMs: 300 })).rejects.toThrow(
			RateLimitWaitError,
		);
		const small = await limiter.acquire(key, { tokens: 50, maxWaitMs: 300 });
		expect(small.waitMs).toBeLessThan(300);
	}, 20_000);
});

describe('store down', () => {
	it('falls back to counting in this process, with a warning on the lease and one log line', async () => {
		const lines: string[] = [];
		const store = limiterStoreFor('redis://127.0.0.1:1/0'); // nothing listens on port 1
		stores.push(store);
		const limiter = new ProviderRateLimiter(
			store,
			{ requestsPerMinute: 120 },
			{ prefix, log: (line) => lines.push(line) },
		);
		const key = freshKey();
		const first = await limiter.acquire(key);
		expect(first.warning).toMatch(/rate limit store \(redis\) failed.*this n8n process only/);
		// Still limited: 1 per 500 ms window locally.
		const second = await limiter.acquire(key);
		await expect(limiter.acquire(key, { maxWaitMs: 100 })).rejects.toThrow(RateLimitWaitError);
		expect(second.warning).toBeDefined();
		expect(lines).toHaveLength(1);
	}, 30_000);
});
