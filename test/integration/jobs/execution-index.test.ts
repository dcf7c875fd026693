/**
 * The shared execution index (lib/jobs/execution-index) in a real Redis Memory Store, against a local server with
 * n8n's public API shapes (cursor pages; startedAfter, workflowId, status and includeData filters; running executions
 * only when asked for): a first call reads the window once with data, a call within maxAge reads nothing, a later one
 * lists only what started since and reads the data of the newly finished, pending executions are re-read, concurrent
 * viewers share one refresh, maxExecutions truncates and says so, and the aggregates kept through refreshes equal a
 * full recount of the executions (pruned ones as the index treats them). Workers asked on n8n's pub/sub channels.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

import {
	addSummary,
	analyze,
	askWorkers,
	indexAnalytics,
	indexedExecutions,
	indexNamespace,
	indexRollup,
	N8nApiClient,
	rememberWorkers,
	rollupByWorkflow,
	summarize,
	type ApiExecution,
	type ExecutionSummary,
	type IndexedExecutions,
	type MinuteCells,
	type WorkflowRollup,
} from '../../../lib/jobs';
import { internalNamespace, RedisMemoryStore } from '../../../lib/memory';
import { NoRetryPolicy } from '../../../lib/retry';
import { deleteKeys, redisFromEnv } from '../../../stack/services';
import Redis from 'ioredis';

const KEY = 'n8n_api_index_test';
const prefix = `openagents-test-index-${randomUUID()}`;
const T0 = Date.now() - 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

type Stored = ApiExecution & { customData?: Record<string, string>; errorMessage?: string };

class ExecutionsApi {
	executions = new Map<number, Stored>();
	/** Listed, but deleted before they are read one by one (as n8n's pruning does): 404 on a single read. */
	deletedAfterListing = new Set<number>();
	/** Every request: its path and query. */
	requests: URL[] = [];
	/** How long each answer takes, ms. */
	delayMs = 0;
	server: Server = createServer((req, res) => {
		if (this.delayMs) setTimeout(() => this.answer(req, res), this.delayMs);
		else this.answer(req, res);
	});

	answer(req: IncomingMessage, res: ServerResponse): void {
		const url = new URL(req.url!, 'http://x');
		this.requests.push(url);
		const send = (status: number, body: unknown): void => {
			res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
		};
		if (req.headers['x-n8n-api-key'] !== KEY) return send(401, { message: 'unauthorized' });
		const withData = url.searchParams.get('includeData') === 'true';
		const view = (e: Stored) => this.view(e, withData);
		const one = /^\/api\/v1\/executions\/(\d+)$/.exec(url.pathname);
		if (one) {
			const found = this.deletedAfterListing.has(Number(one[1]))
				? undefined
				: this.executions.get(Number(one[1]));
			return found ? send(200, view(found)) : send(404, { message: 'Not Found' });
		}
		const status = url.searchParams.get('status');
		const after = url.searchParams.get('startedAfter');
		const all = [...this.executions.values()]
			.filter((e) => (status ? e.status === status : e.status !== 'running'))
			.filter((e) => !after || (e.startedAt && e.startedAt >= after))
			.sort((a, b) => Number(b.id) - Number(a.id));
		const offset = Number(url.searchParams.get('cursor') ?? 0);
		const limit = Number(url.searchParams.get('limit') ?? 100);
		send(200, {
			data: all.slice(offset, offset + limit).map(view),
			nextCursor: offset + limit < all.length ? String(offset + limit) : null,
		});
	}

	/** An execution as the API answers it, with or without its data (the error of failed ones in the data). */
	view(e: Stored, withData: boolean): ApiExecution {
		const { customData, errorMessage, ...rest } = e;
		const resultData =
			e.status === 'error' || e.status === 'crashed'
				? { error: { message: errorMessage ?? 'boom', node: { name: 'Step 2' } } }
				: {};
		return withData ? { ...rest, customData, data: { resultData } } : rest;
	}

	add(
		id: number,
		status: ApiExecution['status'],
		startOffsetMs: number,
		tokens = 10,
		extra: {
			workflowId?: string;
			durationMs?: number;
			errorMessage?: string;
			cost?: number;
			retryOf?: string | null;
		} = {},
	) {
		const pending = status === 'running' || status === 'waiting';
		this.executions.set(id, {
			id,
			workflowId: extra.workflowId ?? 'wf1',
			status,
			mode: 'webhook',
			startedAt: iso(T0 + startOffsetMs),
			stoppedAt: pending ? null : iso(T0 + startOffsetMs + (extra.durationMs ?? 100)),
			retryOf: extra.retryOf ?? null,
			errorMessage: extra.errorMessage,
			customData: {
				openagents_total_tokens: String(tokens),
				openagents_model_calls: '1',
				...(extra.cost !== undefined ? { openagents_cost: String(extra.cost) } : {}),
			},
		});
	}

	/** Requests since the last call: listings and single reads, and how many asked for data. */
	take() {
		const requests = this.requests.splice(0);
		return {
			total: requests.length,
			withData: requests.filter((u) => u.searchParams.get('includeData') === 'true').length,
			single: requests.filter((u) => /\/executions\/\d+$/.test(u.pathname)).length,
		};
	}
}

const api = new ExecutionsApi();
let client: N8nApiClient;
let redis: Redis;
let store: RedisMemoryStore;

beforeAll(async () => {
	await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
	const port = (api.server.address() as AddressInfo).port;
	client = new N8nApiClient(
		{ baseUrl: `http://127.0.0.1:${port}/api/v1`, apiKey: KEY },
		{ policy: new NoRetryPolicy() },
	);
	redis = new Redis({ ...redisFromEnv() });
	store = new RedisMemoryStore(redis, prefix, false);
});
afterAll(async () => {
	api.server.closeAllConnections();
	await new Promise((resolve) => api.server.close(resolve));
	await deleteKeys(redisFromEnv(), `${prefix}*`);
	redis.disconnect();
});

const ns = () => internalNamespace('', 'job-analytics', randomUUID());
const rollupOf = (summaries: ExecutionSummary[]) => {
	const cells: MinuteCells = new Map();
	for (const s of summaries) addSummary(cells, s);
	return rollupByWorkflow(cells);
};
const from = iso(T0 - 60_000);

/** The analytics of the minutes around the test's executions, from the index (aggregates and pending). */
const window = () => {
	const minute = 60_000;
	const start = Math.floor((T0 - 60_000) / minute) * minute;
	const end = Math.ceil((Date.now() + 120_000) / minute) * minute;
	return { from: iso(start), to: iso(end), bucketMs: 5 * minute };
};
const held = (index: IndexedExecutions) => index.coverage.executions;

it('reads the window once, serves it from the store, then reads only what changed', async () => {
	api.executions.clear();
	for (let id = 1; id <= 120; id++) api.add(id, id % 10 ? 'success' : 'error', id * 1000);
	api.add(121, 'running', 121_000);
	const namespace = ns();
	const options = { client, store, namespace, maxAgeMs: 60_000 };

	const first = await indexedExecutions(from, options);
	expect(first.coverage).toMatchObject({ source: 'refreshed', executions: 121, truncated: false });
	expect(first.pending.map((s) => s.id)).toEqual(['121']);
	const firstAnalytics = indexAnalytics(first, window());
	expect(firstAnalytics.usage).toMatchObject({ executions: 120, totalTokens: 1200 });
	expect(firstAnalytics.stats.byStatus).toMatchObject({ success: 108, error: 12, running: 1 });
	api.take();

	const cached = await indexedExecutions(from, options);
	expect(cached.coverage.source).toBe('cache');
	expect(api.take().total).toBe(0);
	// What the store gave back is what was read: statuses, times, usage, error and failing node.
	expect(indexAnalytics(cached, window())).toEqual(firstAnalytics);
	expect(firstAnalytics.stats.failures).toEqual([
		expect.objectContaining({ node: 'Step 2', message: 'boom', count: 12 }),
	]);

	// Later: two new executions started, the running one finished.
	api.add(122, 'success', Date.now() - T0, 30);
	api.add(123, 'error', Date.now() - T0 + 1, 40);
	api.add(121, 'success', 121_000, 50);
	const later = await indexedExecutions(from, { ...options, maxAgeMs: 0 });
	expect(later.coverage.source).toBe('refreshed');
	expect(later.pending).toEqual([]);
	expect(held(later)).toBe(123);
	const laterAnalytics = indexAnalytics(later, window());
	expect(laterAnalytics.usage).toMatchObject({
		executions: 123,
		totalTokens: 1200 + 30 + 40 + 50,
	});
	expect(laterAnalytics.stats.byStatus).toMatchObject({ success: 110, error: 13, running: 0 });
	const reads = api.take();
	// Listed only what started since the previous refresh (two listings: finished and running), re-read the
	// pending one, read the data of the three newly finished ones one by one.
	expect(later.coverage.listed).toBeLessThan(10);
	expect(reads.single).toBe(1 + 3);
	expect(reads.total).toBeLessThan(10);

	// Listed again within the overlap minute, 122 and 123 are not counted twice.
	const again = await indexedExecutions(from, { ...options, maxAgeMs: 0 });
	expect(again.coverage.listed).toBeGreaterThanOrEqual(2);
	expect(indexAnalytics(again, window())).toEqual(laterAnalytics);
});

it('leaves out an execution deleted between its listing and its reading, instead of failing', async () => {
	api.executions.clear();
	for (let id = 1; id <= 3; id++) api.add(id, 'success', id * 1000);
	api.deletedAfterListing.add(2);
	api.take();
	try {
		const index = await indexedExecutions(from, { client, store, namespace: ns(), maxAgeMs: 0 });
		expect(held(index)).toBe(2);
		expect(indexAnalytics(index, window()).stats.total).toBe(2);
		expect(api.take().single).toBe(3);
	} finally {
		api.deletedAfterListing.clear();
	}
});

it('keeps one index per n8n API and key, inside the credential tenant, without the key in it', () => {
	const a = indexNamespace('team-a', 'http://n8n:5678/api/v1', 'key-1');
	expect(indexNamespace('team-a', 'http://n8n:5678/api/v1/', 'key-1')).toEqual(a);
	expect(indexNamespace('team-a', 'http://n8n:5678/api/v1', 'key-2')).not.toEqual(a);
	expect(indexNamespace('team-a', 'http://other:5678/api/v1', 'key-1')).not.toEqual(a);
	expect(indexNamespace('team-b', 'http://n8n:5678/api/v1', 'key-1').tenant).toBe('team-b');
	expect(a).toMatchObject({ tenant: 'team-a', scope: 'job-analytics' });
	expect(JSON.stringify(a)).not.toContain('key-1');
});

it('lets concurrent viewers share one refresh', async () => {
	api.executions.clear();
	for (let id = 1; id <= 60; id++) api.add(id, 'success', id * 1000);
	const namespace = ns();
	const results = await Promise.all(
		// maxAgeMs 0: even then a refresh finished while a viewer waited is taken, not repeated.
		Array.from({ length: 10 }, () =>
			indexedExecutions(from, { client, store, namespace, maxAgeMs: 0 }),
		),
	);
	const sources = results.map((r) => r.coverage.source);
	expect(sources.filter((s) => s === 'refreshed')).toHaveLength(1);
	expect(sources.filter((s) => s === 'shared')).toHaveLength(9);
	expect(results.every((r) => indexAnalytics(r, window()).stats.total === 60)).toBe(true);
});

it('counts every execution once when refreshes from one state run side by side', async () => {
	api.executions.clear();
	// All in the hour of `late`, so the later ones add to an hour the index already holds.
	const late = Date.now() - 10_000;
	const hourStart = Math.floor(late / 3600_000) * 3600_000;
	const at = (id: number) => hourStart + Math.floor(((late - hourStart) * id) / 40) - T0;
	for (let id = 1; id <= 30; id++) api.add(id, 'success', at(id));
	const namespace = ns();
	const view = (options: { maxAgeMs?: number; lockWaitMs?: number } = {}) =>
		indexedExecutions(from, { client, store, namespace, ...options });
	await view();
	// Started since the index was built (within its minute of overlap): what a refresh lists.
	for (let id = 31; id <= 40; id++) api.add(id, 'success', late - T0 + id);
	// Each refresh takes over 600 ms (two API round trips); a second viewer, 150 ms behind and not waiting for the
	// first, refreshes from the same state and adds to the hours after the first did.
	api.delayMs = 300;
	try {
		const first = view({ maxAgeMs: 0, lockWaitMs: 0 });
		await new Promise((resolve) => setTimeout(resolve, 150));
		const results = await Promise.all([first, view({ maxAgeMs: 0, lockWaitMs: 0 })]);
		expect(results.map((r) => r.coverage.source)).toEqual(['refreshed', 'refreshed']);
		for (const result of results) expect(indexAnalytics(result, window()).stats.total).toBe(40);
	} finally {
		api.delayMs = 0;
	}
	const after = await view({ maxAgeMs: 60_000 });
	expect(after.coverage.source).toBe('cache');
	expect(indexAnalytics(after, window()).stats.total).toBe(40);
	// The refreshes whose state was not saved deleted their aggregates; the replaced ones expire within minutes.
	const keys = await redis.keys(`${prefix}*${namespace.scopeId}*agg*`);
	const lasting = await Promise.all(keys.map(async (key) => (await redis.pttl(key)) > 3600_000));
	const hourOf = (key: string) => /(\d{13})\D+[0-9a-f]{8}$/.exec(decodeURIComponent(key))![1];
	const hours = new Set(
		[...api.executions.values()].map((e) =>
			String(Math.floor(Date.parse(e.startedAt!) / 3600_000) * 3600_000),
		),
	);
	expect(new Set(keys.map(hourOf))).toEqual(hours);
	expect(lasting.filter(Boolean)).toHaveLength(hours.size); // one key per hour lives on
}, 30_000);

it('lists at most maxExecutions, newest first, and says the window held more', async () => {
	api.executions.clear();
	for (let id = 1; id <= 50; id++) api.add(id, 'success', id * 1000);
	const result = await indexedExecutions(from, {
		client,
		store,
		namespace: ns(),
		maxExecutions: 20,
	});
	expect(result.coverage).toMatchObject({ truncated: true, executions: 20 });
	expect(indexAnalytics(result, window()).stats.total).toBe(20);
	expect(result.coverage.from).toBe(api.executions.get(31)!.startedAt);
});

it('keeps aggregates equal to a full recount through refreshes, finishing, failing and pruned executions', async () => {
	api.executions.clear();
	const namespace = ns();
	const options = { client, store, namespace, maxAgeMs: 0 };
	const statuses = ['success', 'error', 'crashed', 'canceled', 'running', 'waiting'] as const;
	let id = 0;
	/** A batch of executions over several minutes and workflows, some still running or waiting. */
	const batch = (n: number, startOffsetMs: number, spacingMs: number) => {
		for (let i = 0; i < n; i++) {
			id++;
			api.add(
				id,
				statuses[(id * 7) % statuses.length],
				startOffsetMs + i * spacingMs,
				(id * 13) % 97,
				{
					workflowId: `wf${id % 3}`,
					durationMs: (id * 37) % 1_500,
					errorMessage: `boom ${id % 4}`,
					cost: ((id * 17) % 10) / 1000,
					retryOf: id % 11 === 0 ? String(id - 1) : null,
				},
			);
		}
	};
	/**
	 * What a recount from scratch finds: every execution n8n holds, the final ones read with their data (the others
	 * as listed: their usage and error are known once they end), plus `kept`.
	 */
	const recount = async (kept: ExecutionSummary[]) => {
		const all: ExecutionSummary[] = [...kept];
		for await (const e of client.executions({ includeData: true }, 250)) {
			const s = summarize(e);
			all.push(s.finished ? s : summarize(api.view(api.executions.get(Number(e.id))!, false)));
		}
		for (const e of await client.listExecutions({ status: 'running' }, 1000))
			all.push(summarize(e));
		return all.sort((a, b) => Number(b.id) - Number(a.id));
	};

	batch(40, 0, 7_919);
	await indexedExecutions(from, options);
	batch(30, Date.now() - T0 - 50_000, 1_000);
	// Running and waiting ones finish; a pending one is pruned before it is read again (it leaves, as before);
	// a counted one is pruned after it was counted (it stays counted, as before: finished executions are not re-read).
	const pendingIds = [...api.executions.values()]
		.filter((e) => e.status === 'running' || e.status === 'waiting')
		.map((e) => Number(e.id));
	for (const pid of pendingIds.slice(1)) {
		const e = api.executions.get(pid)!;
		api.executions.set(pid, {
			...e,
			status: 'error',
			stoppedAt: iso(Date.parse(e.startedAt!) + 250),
		});
	}
	api.executions.delete(pendingIds[0]);
	const prunedCounted = summarize(api.view(api.executions.get(1)!, true));
	api.executions.delete(1);
	await indexedExecutions(from, options);
	batch(25, Date.now() - T0 - 30_000, 1_000); // inside the overlap of the next listing
	const index = await indexedExecutions(from, options);

	const expected = await recount([prunedCounted]);
	expect(indexAnalytics(index, window())).toEqual(analyze(expected, window()));
	// Per workflow totals (Prometheus counters), in any order.
	const sorted = (rollup: WorkflowRollup[]) =>
		rollup
			.map((w) => ({ ...w, durations: [...w.durations].sort((x, y) => x[0] - y[0]) }))
			.sort((x, y) => x.workflowId.localeCompare(y.workflowId));
	expect(sorted(indexRollup(index))).toEqual(sorted(rollupOf(expected)));
	expect(held(index)).toBe(expected.length);
	// A failure table with more than one group, and pending executions, are part of what was compared.
	expect(analyze(expected, window()).stats.failures.length).toBeGreaterThan(2);
	expect(index.pending.length).toBeGreaterThan(0);
});

describe('workers', () => {
	/** Two worker processes of one host answering every get-worker-status command on `channelPrefix`. */
	async function fakeWorkers(channelPrefix: string) {
		const sub = new Redis({ ...redisFromEnv() });
		const pub = new Redis({ ...redisFromEnv() });
		await sub.subscribe(`${channelPrefix}:n8n.commands`);
		sub.on('message', (_channel: string, text: string) => {
			if (JSON.parse(text).command !== 'get-worker-status') return;
			for (const uptime of [100, 50])
				void pub.publish(
					`${channelPrefix}:n8n.worker-response`,
					JSON.stringify({
						senderId: 'worker-host',
						response: 'response-to-get-worker-status',
						payload: { hostname: 'host', uptime, runningJobsSummary: [] },
					}),
				);
		});
		return () => {
			sub.disconnect();
			pub.disconnect();
		};
	}

	it('collects every answer, tells processes of one host apart, and stops waiting once all expected answered', async () => {
		const channelPrefix = `${prefix}-pubsub`;
		const stop = await fakeWorkers(channelPrefix);
		try {
			const started = Date.now();
			const answers = await askWorkers(redis, {
				prefix: channelPrefix,
				waitMs: 10_000,
				expected: 2,
			});
			expect(Date.now() - started).toBeLessThan(5_000);
			expect(answers.map((w) => w.id)).toEqual(['worker-host', 'worker-host#2']);
			expect(answers[0].uptimeSeconds).toBe(100);

			// Remembered: a worker that stops answering is still listed, as not answering, with its last answer.
			const namespace = ns();
			await rememberWorkers(store, namespace, answers);
			const later = await rememberWorkers(store, namespace, answers.slice(0, 1));
			expect(later.map((w) => [w.id, w.answered])).toEqual([
				['worker-host', true],
				['worker-host#2', false],
			]);
		} finally {
			stop();
		}
	});
});
