/**
 * lib/jobs: percentiles against a reference, stats, the API client's pagination and errors against a local HTTP
 * server speaking n8n's public API shapes, retry-policy timing, queue depth from real Redis and from /metrics text.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import fc from 'fast-check';
import Redis from 'ioredis';

import {
	jobStats,
	JobsError,
	N8nApiClient,
	queueStatsFromMetrics,
	queueStatsFromRedis,
	retryJob,
	originalRuns,
	takeUnreported,
	toJob,
	waitForJob,
	type ApiExecution,
} from '../../../lib/jobs';
import {
	ExponentialBackoffRetryPolicy,
	FixedDelayRetryPolicy,
	NoRetryPolicy,
} from '../../../lib/retry';
import { percentile } from '../../../lib/stats';
import { freePort } from '../../../stack/process';
import { deleteKeys, redisFromEnv } from '../../../stack/services';

const API_KEY = 'n8n_api_test_0123456789abcdef';

describe('percentile', () => {
	/** Reference: the smallest value v with at least p % of the values ≤ v. */
	const reference = (values: number[], p: number) =>
		[...values]
			.sort((a, b) => a - b)
			.find((v) => values.filter((x) => x <= v).length >= (p / 100) * values.length)!;

	it('matches the nearest-rank definition on random data', () => {
		fc.assert(
			fc.property(
				fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 200 }),
				fc.integer({ min: 1, max: 100 }),
				(values, p) => {
					expect(percentile(values, p)).toBe(reference(values, p));
				},
			),
			{ numRuns: 2000 },
		);
	});

	it('gives textbook values for 1..100 and refuses p outside 0..100', () => {
		const values = Array.from({ length: 100 }, (_, i) => 100 - i);
		expect([
			percentile(values, 50),
			percentile(values, 95),
			percentile(values, 100),
			percentile(values, 0),
		]).toEqual([50, 95, 100, 1]);
		expect(percentile([], 50)).toBeNaN();
		expect(() => percentile([1], 101)).toThrow(RangeError);
	});
});

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
function execution(
	id: number,
	status: ApiExecution['status'],
	startSecond: number,
	durationS: number | null,
	error?: [string, string],
): ApiExecution {
	return {
		id,
		workflowId: 'wf1',
		status,
		mode: 'webhook',
		startedAt: at(startSecond),
		stoppedAt: durationS === null ? null : at(startSecond + durationS),
		...(error
			? {
					data: {
						resultData: {
							error: { message: error[1], node: { name: error[0] } },
							lastNodeExecuted: error[0],
						},
					},
				}
			: {}),
	};
}

describe('jobStats', () => {
	it('counts statuses, success rate, duration percentiles, throughput and failure groups', () => {
		const jobs = [
			execution(1, 'success', 0, 1),
			execution(2, 'success', 10, 2),
			execution(3, 'success', 20, 3),
			execution(4, 'error', 30, 4, ['HTTP Request', 'timeout']),
			execution(5, 'error', 40, 5, ['HTTP Request', 'timeout']),
			execution(6, 'crashed', 50, 10, ['Code', 'out of memory']),
			execution(7, 'running', 55, null),
			execution(8, 'canceled', 56, 1),
		].map(toJob);
		const stats = jobStats(jobs);
		expect(stats.total).toBe(8);
		expect(stats.byStatus).toMatchObject({
			success: 3,
			error: 2,
			crashed: 1,
			running: 1,
			canceled: 1,
		});
		expect(stats.ended).toBe(6);
		expect(stats.successRate).toBe(0.5);
		expect(stats.durationMs).toEqual({ p50: 3000, p95: 10_000, max: 10_000, mean: 4166.7 });
		expect(stats.window).toEqual({ from: at(0), to: at(60) });
		expect(stats.throughputPerMinute).toBe(6);
		expect(stats.failures).toEqual([
			{ node: 'HTTP Request', message: 'timeout', count: 2, executionIds: ['4', '5'] },
			{ node: 'Code', message: 'out of memory', count: 1, executionIds: ['6'] },
		]);
		expect(jobStats(jobs, { from: at(0), to: at(120) }).throughputPerMinute).toBe(3);
	});

	it('has no rates or percentiles without ended executions', () => {
		const stats = jobStats([toJob(execution(1, 'running', 0, null))]);
		expect(stats).toMatchObject({
			ended: 0,
			successRate: null,
			durationMs: { p50: null, p95: null, max: null, mean: null },
		});
	});
});

/** A local server with n8n's public API shapes: executions (cursor pages), retry, metrics; the handler can be swapped. */
class FakeN8nApi {
	server: Server = createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			this.requests.push({
				method: req.method!,
				url: req.url!,
				at: Date.now(),
				key: req.headers['x-n8n-api-key'] as string,
			});
			const [status, payload] = this.handle(req, body);
			res
				.writeHead(status, { 'content-type': 'application/json' })
				.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
		});
	});
	requests: Array<{ method: string; url: string; at: number; key: string }> = [];
	executions = new Map<string, ApiExecution>();
	/** Outcome of each successive retry. */
	retryOutcomes: Array<ApiExecution['status']> = [];
	nextId = 1000;

	handle(req: IncomingMessage, body: string): [number, unknown] {
		if (req.headers['x-n8n-api-key'] !== API_KEY) return [401, { message: 'unauthorized' }];
		const url = new URL(req.url!, 'http://x');
		const retry = /^\/api\/v1\/executions\/(\w+)\/retry$/.exec(url.pathname);
		if (retry && req.method === 'POST') {
			const source = this.executions.get(retry[1]);
			if (!source) return [404, { message: 'Not Found' }];
			if (source.data?.resultData?.error?.message?.includes('too many times'))
				return [
					400,
					{ message: 'The execution was aborted before starting, so it cannot be retried' },
				];
			const status = this.retryOutcomes.shift() ?? 'success';
			const id = String(this.nextId++);
			const created = { ...execution(Number(id), status, 0, 1), retryOf: retry[1] };
			this.executions.set(id, created);
			if (status === 'success') this.executions.set(retry[1], { ...source, retrySuccessId: id });
			return [200, { ...created, loadWorkflow: JSON.parse(body).loadWorkflow }];
		}
		const one = /^\/api\/v1\/executions\/(\w+)$/.exec(url.pathname);
		if (one) {
			const found = this.executions.get(one[1]);
			return found ? [200, found] : [404, { message: 'Not Found' }];
		}
		if (url.pathname === '/api/v1/executions') {
			// As n8n does: running executions only when asked for status=running.
			const status = url.searchParams.get('status');
			const all = [...this.executions.values()]
				.filter((e) => (status ? e.status === status : e.status !== 'running'))
				.sort((a, b) => Number(b.id) - Number(a.id));
			const offset = Number(url.searchParams.get('cursor') ?? 0);
			const limit = Number(url.searchParams.get('limit') ?? 100);
			const data = all.slice(offset, offset + limit);
			return [
				200,
				{ data, nextCursor: offset + limit < all.length ? String(offset + limit) : null },
			];
		}
		return [404, { message: 'Not Found' }];
	}

	async start(): Promise<string> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1`;
	}
}

const api = new FakeN8nApi();
let baseUrl: string;
beforeAll(async () => {
	baseUrl = await api.start();
});
afterAll(async () => {
	api.server.closeAllConnections();
	await new Promise((resolve) => api.server.close(resolve));
});
beforeEach(() => {
	api.requests.length = 0;
	api.executions.clear();
	api.retryOutcomes = [];
	api.nextId = 1000;
});
const client = (
	options: Partial<ConstructorParameters<typeof N8nApiClient>[1]> = {},
	apiKey = API_KEY,
) => new N8nApiClient({ baseUrl, apiKey }, { policy: new NoRetryPolicy(), ...options });

describe('N8nApiClient', () => {
	it('follows the cursor through every page, newest first, and stops early at a limit', async () => {
		for (let id = 1; id <= 530; id++)
			api.executions.set(String(id), execution(id, id % 3 ? 'success' : 'error', 0, 1));
		const all = [];
		for await (const e of client().executions({}, 250)) all.push(Number(e.id));
		expect(all).toEqual(Array.from({ length: 530 }, (_, i) => 530 - i));
		expect(api.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('cursor'))).toEqual([
			null,
			'250',
			'500',
		]);
		expect(api.requests.every((r) => r.key === API_KEY)).toBe(true);

		api.requests.length = 0;
		const errors = await client().listExecutions({ status: 'error' }, 120);
		expect(errors).toHaveLength(120);
		expect(errors.every((e) => e.status === 'error')).toBe(true);
		expect(api.requests).toHaveLength(1);
	});

	it('lists running executions too when no status is asked for (n8n leaves them out unless asked)', async () => {
		for (const [id, status] of [
			[1, 'success'],
			[2, 'running'],
			[3, 'error'],
			[4, 'running'],
			[5, 'success'],
		] as const)
			api.executions.set(String(id), execution(id, status, id, status === 'running' ? null : 1));
		expect((await client().listExecutions({}, 10)).map((e) => [Number(e.id), e.status])).toEqual([
			[5, 'success'],
			[4, 'running'],
			[3, 'error'],
			[2, 'running'],
			[1, 'success'],
		]);
		expect((await client().listExecutions({}, 2)).map((e) => Number(e.id))).toEqual([5, 4]);
		expect(
			(await client().listExecutions({ status: 'success' }, 10)).map((e) => Number(e.id)),
		).toEqual([5, 1]);
	});

	it('names a wrong API key without showing it, and an unknown execution', async () => {
		const wrongKey = 'n8n_api_wrong_key_999';
		const error = await client({}, wrongKey)
			.getExecution('1')
			.catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
		expect((error as Error).message).toMatch(/rejected the API key \(401\)/);
		expect((error as Error).message).not.toContain(wrongKey);
		await expect(client().getExecution('404')).rejects.toMatchObject({
			code: 'NOT_FOUND',
			message: expect.stringMatching(/GET \/executions\/404: not found/),
		});
	});

	it("reports an unreachable API after the policy's attempts", async () => {
		const down = new N8nApiClient(
			{ baseUrl: `http://127.0.0.1:${await freePort()}/api/v1`, apiKey: API_KEY },
			{ policy: new FixedDelayRetryPolicy({ maxRetries: 2, delay: 10 }) },
		);
		await expect(down.getExecution('1')).rejects.toMatchObject({
			code: 'API_UNAVAILABLE',
			message: expect.stringMatching(/Cannot reach the n8n API at .* after 3 attempts/),
		});
	});
});

describe('retryJob', () => {
	it("waits the policy's delay before each attempt, retries the previous failed run, and stops at the first success", async () => {
		api.executions.set('7', execution(7, 'crashed', 0, 1));
		api.retryOutcomes = ['error', 'error', 'success', 'success'];
		const result = await retryJob(client(), '7', {
			policy: new FixedDelayRetryPolicy({ maxRetries: 5, delay: 150 }),
		});
		expect(result).toMatchObject({
			originalExecutionId: '7',
			succeeded: true,
			finalStatus: 'success',
			finalExecutionId: '1002',
		});
		expect(
			result.attempts.map((a) => [a.retriedExecutionId, a.executionId, a.status, a.delayMs]),
		).toEqual([
			['7', '1000', 'error', 0],
			['1000', '1001', 'error', 150],
			['1001', '1002', 'success', 150],
		]);
		const posts = api.requests.filter((r) => r.method === 'POST');
		expect(posts).toHaveLength(3);
		for (let i = 1; i < posts.length; i++)
			expect(posts[i].at - posts[i - 1].at).toBeGreaterThanOrEqual(145);
	});

	it('uses exponential delays and reports every attempt when all fail', async () => {
		api.executions.set('8', execution(8, 'error', 0, 1));
		api.retryOutcomes = ['error', 'error', 'error'];
		const waited: number[] = [];
		const policy = new ExponentialBackoffRetryPolicy({
			maxRetries: 2,
			initialDelay: 1000,
			multiplier: 3,
			maxDelay: 60_000,
			jitter: 0,
		});
		const result = await retryJob(client(), '8', {
			policy,
			sleep: async (ms) => void waited.push(ms),
		});
		expect(waited).toEqual([1000, 3000]);
		expect(result).toMatchObject({
			succeeded: false,
			finalStatus: 'error',
			finalExecutionId: '1002',
		});
		expect(result.attempts).toHaveLength(3);
	});

	it.each([
		['running', /still "running": wait for it to finish/],
		['waiting', /still "waiting"/],
		['success', /it succeeded/],
		['canceled', /it was canceled/],
	] as const)('refuses a %s execution', async (status, message) => {
		api.executions.set(
			'9',
			execution(9, status, 0, status === 'running' || status === 'waiting' ? null : 1),
		);
		await expect(retryJob(client(), '9', { policy: new NoRetryPolicy() })).rejects.toMatchObject({
			code: 'NOT_RETRYABLE',
			message: expect.stringMatching(message),
		});
		expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
	});

	it('explains a refusal for an execution whose data n8n discarded after a stalled job', async () => {
		api.executions.set(
			'12',
			execution(12, 'error', 0, 1, [
				'',
				'This execution failed to be processed too many times and will no longer retry.',
			]),
		);
		const result = await retryJob(client(), '12', {
			policy: new FixedDelayRetryPolicy({ maxRetries: 3, delay: 10 }),
		});
		expect(result).toMatchObject({
			succeeded: false,
			finalStatus: 'not started',
			finalExecutionId: null,
		});
		expect(result.attempts).toHaveLength(1);
		expect(result.attempts[0].error).toMatch(
			/HTTP 400: The execution was aborted before starting.*discarded this execution's data.*run its workflow again with the original input/,
		);
	});

	it('refuses an execution that already has a successful retry', async () => {
		api.executions.set('10', { ...execution(10, 'error', 0, 1), retrySuccessId: 11 });
		await expect(retryJob(client(), '10', { policy: new NoRetryPolicy() })).rejects.toThrow(
			/already retried successfully as execution 11/,
		);
	});
});

describe('waitForJob', () => {
	it('polls until the status is final, and times out naming the last status', async () => {
		api.executions.set('20', execution(20, 'running', 0, null));
		setTimeout(() => api.executions.set('20', execution(20, 'success', 0, 2)), 250);
		const job = await waitForJob(client(), '20', { intervalMs: 50, timeoutMs: 5000 });
		expect(job).toMatchObject({ id: '20', status: 'success', durationMs: 2000 });
		expect(api.requests.length).toBeGreaterThanOrEqual(3);

		api.executions.set('21', execution(21, 'running', 0, null));
		await expect(waitForJob(client(), '21', { intervalMs: 20, timeoutMs: 100 })).rejects.toEqual(
			expect.objectContaining({ code: 'WAIT_TIMEOUT' }),
		);
		await expect(waitForJob(client(), '21', { intervalMs: 20, timeoutMs: 100 })).rejects.toThrow(
			/Execution 21 is still "running"/,
		);
	});
});

describe('queue depth', () => {
	const prefix = `openagents-jobs-test-${process.pid}`;
	const redis = new Redis(redisFromEnv());
	afterAll(async () => {
		await deleteKeys(redisFromEnv(), `${prefix}:*`);
		await redis.quit();
	});

	it("reads Bull's keys on real Redis, with the execution of each active job", async () => {
		const key = (name: string) => `${prefix}:jobs:${name}`;
		await redis.rpush(key('wait'), '3', '4', '5');
		await redis.rpush(key('active'), '1', '2');
		await redis.zadd(key('completed'), 1, '10', 2, '11');
		await redis.zadd(key('failed'), 1, '12');
		await redis.hset(key('1'), 'data', JSON.stringify({ executionId: '101', workflowId: 'wfA' }));
		await redis.hset(key('2'), 'data', JSON.stringify({ executionId: '102', workflowId: 'wfB' }));
		const stats = await queueStatsFromRedis(redis, prefix);
		expect(stats).toEqual({
			source: 'redis',
			waiting: 3,
			active: 2,
			paused: 0,
			delayed: 0,
			completed: 2,
			failed: 1,
			activeJobs: [
				{ jobId: '1', executionId: '101', workflowId: 'wfA' },
				{ jobId: '2', executionId: '102', workflowId: 'wfB' },
			],
		});
	});

	it("reads n8n's queue gauges from /metrics text, and says how to enable them when absent", () => {
		const text =
			'# HELP n8n_scaling_mode_queue_jobs_waiting x\nn8n_scaling_mode_queue_jobs_waiting 4\nn8n_scaling_mode_queue_jobs_active 2\nn8n_scaling_mode_queue_jobs_completed 17\nn8n_scaling_mode_queue_jobs_failed 3\n';
		expect(queueStatsFromMetrics(text)).toEqual({
			source: 'metrics',
			waiting: 4,
			active: 2,
			completed: 17,
			failed: 3,
		});
		expect(() => queueStatsFromMetrics('n8n_version_info 1')).toThrow(
			/N8N_METRICS_INCLUDE_QUEUE_METRICS=true/,
		);
	});

	it('turns a Redis failure into QUEUE_UNAVAILABLE', async () => {
		const down = new Redis({
			port: await freePort(),
			lazyConnect: true,
			maxRetriesPerRequest: 0,
			retryStrategy: () => null,
		});
		await expect(queueStatsFromRedis(down, prefix)).rejects.toBeInstanceOf(JobsError);
		down.disconnect();
	});
});

describe('takeUnreported (the Job Monitor Trigger fires once per failed execution)', () => {
	const executions = (...ids: Array<string | number>) => ids.map((id) => ({ id }) as ApiExecution);
	const HOUR = 3_600_000;

	it('returns the new executions in id order and marks them; the next poll returns only newer ones', () => {
		const reported: Record<string, number> = {};
		expect(takeUnreported(executions(10, 9, 100), reported, 1_000, HOUR).map((e) => e.id)).toEqual([
			9, 10, 100,
		]);
		expect(
			takeUnreported(executions(100, 10, 101), reported, 2_000, HOUR).map((e) => e.id),
		).toEqual([101]);
		expect(reported).toEqual({ 9: 1_000, 10: 1_000, 100: 1_000, 101: 2_000 });
	});

	it('leaves out retries of earlier executions (Include Retries off), so a retrying flow is not fed its own retries', () => {
		const listed = [
			{ id: 1, retryOf: null },
			{ id: 2, retryOf: '1' },
			{ id: 3 },
			{ id: 4, retryOf: 3 },
		] as ApiExecution[];
		expect(originalRuns(listed).map((e) => e.id)).toEqual([1, 3]);
	});

	it('forgets executions reported more than twice the look-back window ago, and no others', () => {
		const reported = { old: 0, recent: 5 * HOUR };
		takeUnreported([], reported, 6 * HOUR, 2 * HOUR);
		expect(reported).toEqual({ recent: 5 * HOUR }); // 'old' is 6 h old, over 2 × 2 h
	});
});
