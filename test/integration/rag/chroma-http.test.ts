/**
 * lib/rag's own Chroma HTTP client (chroma-http) on a real Chroma server: every call it makes, Where filters, how
 * Chroma's answers become errors (404, 400, 422, no answer), and through a small proxy in front of the server: a path
 * prefix, auth headers, a 401, a 503 with Retry-After, and aborts and timeouts that stop the request in flight.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ChromaKnowledgeStore, RagError } from '../../../lib/rag';
import {
	ChromaConnectionError,
	ChromaHttpClient,
	ChromaHttpError,
	type ChromaCollection,
	type Where,
} from '../../../lib/rag/chroma-http';
import { errorChain, FixedDelayRetryPolicy, NoRetryPolicy } from '../../../lib/retry';
import { startChroma, type ChromaServer } from '../../../stack/chroma';
import { freePort } from '../../../stack/process';

let chroma: ChromaServer;
let client: ChromaHttpClient;

beforeAll(async () => {
	chroma = await startChroma();
	client = new ChromaHttpClient({ url: chroma.url });
}, 60_000);
afterAll(() => chroma?.stop());

const retries = () => new FixedDelayRetryPolicy({ maxRetries: 2, delay: 10 });

/** A fresh collection with three records (3-dimensional vectors) and their metadata. */
async function seeded(name: string): Promise<ChromaCollection> {
	await client.deleteCollection(name).catch(() => undefined);
	const collection = await client.getOrCreateCollection({
		name,
		metadata: { 'hnsw:space': 'cosine' },
	});
	await collection.upsert({
		ids: ['a', 'b', 'c'],
		embeddings: [
			[1, 0, 0],
			[0, 1, 0],
			[0.6, 0.8, 0],
		],
		documents: ['Alpha', 'Beta', 'Gamma'],
		metadatas: [
			{ source: 'a.md', year: 2023, draft: false },
			{ source: 'b.md', year: 2024, draft: true },
			{ source: 'a.md', year: 2025, draft: false },
		],
	});
	return collection;
}

describe('ChromaHttpClient on a real Chroma server', () => {
	it('answers the heartbeat and the pre-flight checks', async () => {
		expect((await client.heartbeat()) / 1e6).toBeGreaterThan(Date.now() - 60_000); // ns → ms
		expect(await client.preFlightChecks()).toMatchObject({
			max_batch_size: expect.any(Number),
			supports_base64_encoding: true,
		});
	});

	it('creates a cosine collection once, and writes, reads, queries, counts, updates and deletes its records', async () => {
		const collection = await seeded('http-records');
		expect(collection.metadata).toEqual({ 'hnsw:space': 'cosine' });
		const again = await client.getOrCreateCollection({
			name: 'http-records',
			metadata: { 'hnsw:space': 'l2' },
		});
		expect(again.id).toBe(collection.id);
		expect(again.metadata).toEqual({ 'hnsw:space': 'cosine' });
		expect((await client.getCollection('http-records')).id).toBe(collection.id);
		expect(await collection.count()).toBe(3);

		// Embeddings went as base64 float32 (the server supports it) and read back as numbers.
		const all = await collection.get({ include: ['documents', 'metadatas', 'embeddings'] });
		const byId = new Map(all.ids.map((id, i) => [id, i]));
		const c = byId.get('c')!;
		expect(all.documents[c]).toBe('Gamma');
		expect(all.metadatas[c]).toEqual({ source: 'a.md', year: 2025, draft: false });
		expect(all.embeddings[c][0]).toBeCloseTo(0.6, 6);
		expect(all.embeddings[c][1]).toBeCloseTo(0.8, 6);
		// A field not included is [] (chromadb's GetResult), not null.
		const idsOnly = await collection.get({ ids: ['a', 'missing'], include: [] });
		expect(idsOnly).toEqual({
			ids: ['a'],
			documents: [],
			metadatas: [],
			embeddings: [],
			include: [],
		});
		const page = await collection.get({ limit: 2, offset: 2, include: [] });
		expect(page.ids).toHaveLength(1);

		const near = await collection.query({
			queryEmbeddings: [[1, 0, 0]],
			nResults: 2,
			include: ['documents', 'distances', 'embeddings'],
		});
		expect(near.ids).toEqual([['a', 'c']]);
		expect(near.documents[0]).toEqual(['Alpha', 'Gamma']);
		expect(near.distances[0][0]).toBeCloseTo(0, 5); // cosine distance: the same direction
		expect(near.distances[0][1]).toBeCloseTo(1 - 0.6, 5);
		expect(near.embeddings[0][0]).toEqual([1, 0, 0]);
		expect(near.metadatas).toEqual([]);

		// update merges metadata per key; null values are left out rather than sent.
		await collection.update({
			ids: ['b'],
			metadatas: [{ year: 2026, reviewed: null } as never],
		});
		const b = await collection.get({ ids: ['b'], include: ['metadatas', 'documents'] });
		expect(b.metadatas[0]).toEqual({ source: 'b.md', year: 2026, draft: true });
		expect(b.documents[0]).toBe('Beta');

		// add leaves an existing id alone.
		await collection.add({ ids: ['a'], embeddings: [[0, 0, 1]], documents: ['Other'] });
		expect((await collection.get({ ids: ['a'] })).documents).toEqual(['Alpha']);

		await collection.delete({ where: { source: 'a.md' } });
		expect((await collection.get({ include: [] })).ids).toEqual(['b']);
		await collection.delete({ ids: ['b'] });
		expect(await collection.count()).toBe(0);
	});

	it('replaces collection metadata, and the handle keeps what it set', async () => {
		const collection = await seeded('http-modify');
		await collection.modify({ metadata: { 'hnsw:space': 'cosine', revision: 'r1' } });
		await collection.modify({ metadata: { 'hnsw:space': 'cosine', revision: 'r2' } });
		expect(collection.metadata).toEqual({ 'hnsw:space': 'cosine', revision: 'r2' });
		expect((await client.getCollection('http-modify')).metadata).toEqual({
			'hnsw:space': 'cosine',
			revision: 'r2',
		});
	});

	it('lists collections a page at a time and deletes them', async () => {
		for (const name of ['http-list-1', 'http-list-2', 'http-list-3'])
			await client.getOrCreateCollection({ name });
		const names = async () => {
			const out: string[] = [];
			for (let offset = 0; ; offset += 2) {
				const page = await client.listCollections({ limit: 2, offset });
				out.push(...page.map((c) => c.name));
				if (page.length < 2) return out;
			}
		};
		expect(await names()).toEqual(
			expect.arrayContaining(['http-list-1', 'http-list-2', 'http-list-3']),
		);
		await client.deleteCollection('http-list-2');
		expect(await names()).not.toContain('http-list-2');
		expect(await names()).toContain('http-list-3');
	});

	it.each<[string, Where, string[]]>([
		['equality', { source: 'a.md' }, ['a', 'c']],
		['$ne', { source: { $ne: 'a.md' } }, ['b']],
		['$gt', { year: { $gt: 2023 } }, ['b', 'c']],
		['$lte', { year: { $lte: 2024 } }, ['a', 'b']],
		['$in', { source: { $in: ['b.md', 'z.md'] } }, ['b']],
		['$nin', { source: { $nin: ['b.md'] } }, ['a', 'c']],
		['$eq on a boolean', { draft: { $eq: true } }, ['b']],
		['$and', { $and: [{ source: 'a.md' }, { year: { $gte: 2024 } }] }, ['c']],
		['$or', { $or: [{ year: 2023 }, { draft: true }] }, ['a', 'b']],
	])('filters by %s', async (_, where, ids) => {
		const collection = await client.getCollection('http-where').catch(() => seeded('http-where'));
		expect((await collection.get({ where, include: [] })).ids.sort()).toEqual(ids);
	});

	it("a missing collection is a 404 with Chroma's NotFoundError and message", async () => {
		const error = await client.getCollection('http-missing').catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ChromaHttpError);
		expect(error).toMatchObject({
			status: 404,
			type: 'NotFoundError',
			message: 'Collection [http-missing] does not exists (HTTP 404 NotFoundError)',
		});
		await expect(client.deleteCollection('http-missing')).rejects.toMatchObject({ status: 404 });
	});

	it("a 400 and a 422 carry Chroma's error type and message", async () => {
		const collection = await seeded('http-invalid');
		await expect(
			collection.query({ queryEmbeddings: [[1, 0]], nResults: 1 }),
		).rejects.toMatchObject({
			name: 'ChromaHttpError',
			status: 400,
			type: 'InvalidArgumentError',
			message:
				'Collection expecting embedding with dimension of 3, got 2 (HTTP 400 InvalidArgumentError)',
		});
		await expect(
			collection.get({ where: { source: { $like: 'a' } } as never }),
		).rejects.toMatchObject({
			status: 400,
			message: expect.stringMatching(/Invalid where clause/),
		});
		await expect(
			collection.upsert({
				ids: ['x'],
				embeddings: [[1, 0, 0]],
				metadatas: [{ nested: { a: 1 } } as never],
			}),
		).rejects.toMatchObject({
			status: 422,
			message: expect.stringMatching(/Failed to deserialize the JSON body.*metadatas\[0\]\.nested/),
		});
	});

	it('refuses a write over the server’s max_batch_size before sending it', async () => {
		const collection = await seeded('http-batch');
		const { max_batch_size: max } = await client.preFlightChecks();
		const n = max + 1;
		await expect(
			collection.upsert({
				ids: Array.from({ length: n }, (_, i) => `r${i}`),
				embeddings: Array.from({ length: n }, () => [1, 0, 0]),
			}),
		).rejects.toThrow(`${n} records in one write exceed the server's max_batch_size of ${max}`);
		expect(await collection.count()).toBe(3);
	});

	it('without a server, fails with ChromaConnectionError saying why in words, the error code on its cause', async () => {
		const port = await freePort();
		const down = new ChromaHttpClient({ url: `http://127.0.0.1:${port}` });
		const error = await down.heartbeat().catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ChromaConnectionError);
		// Not the code itself: n8n swaps a node error message holding ECONNREFUSED for a generic sentence.
		expect((error as Error).message).toBe(`connection refused (127.0.0.1:${port})`);
		expect(errorChain(error).map((e) => e.code)).toContain('ECONNREFUSED');
	});
});

describe('ChromaKnowledgeStore errors from Chroma’s answers', () => {
	it('deleting a missing knowledge base is STORE_ERROR with Chroma’s message, not retried', async () => {
		const log: string[] = [];
		const store = new ChromaKnowledgeStore(
			{ url: chroma.url },
			{ policy: retries(), log: (line) => log.push(line) },
		);
		await expect(store.drop('kb-never-made')).rejects.toMatchObject({
			code: 'STORE_ERROR',
			message:
				'Chroma failed to delete knowledge base "kb-never-made": Collection [kb-never-made] does not exists (HTTP 404 NotFoundError)',
		});
		expect(log).toEqual([]);
	});

	it('a search with vectors of another dimension, an invalid filter and unparseable metadata are STORE_ERRORs, not retried', async () => {
		const log: string[] = [];
		const store = new ChromaKnowledgeStore(
			{ url: chroma.url },
			{ policy: retries(), log: (line) => log.push(line) },
		);
		const kb = await store.open('kb-http-errors', { create: true });
		await kb.upsert([
			{ id: 'a', text: 'Alpha', embedding: [1, 0, 0], metadata: { source: 'a.md' } },
		]);
		await expect(kb.query([1, 0], 2)).rejects.toMatchObject({
			code: 'STORE_ERROR',
			message: expect.stringContaining(
				'Chroma failed to search in knowledge base "kb-http-errors": Collection expecting embedding with dimension of 3, got 2',
			),
		});
		await expect(kb.idsWhere({ source: { $regex: 'a' } } as never)).rejects.toMatchObject({
			code: 'STORE_ERROR',
			message: expect.stringMatching(/Chroma failed to find chunks .*Invalid where clause/),
		});
		await expect(
			kb.upsert([
				{ id: 'b', text: 'Beta', embedding: [0, 1, 0], metadata: { nested: { a: 1 } } as never },
			]),
		).rejects.toMatchObject({ code: 'STORE_ERROR', message: expect.stringMatching(/HTTP 422/) });
		expect(log).toEqual([]);
	});

	it('no server: STORE_UNAVAILABLE after the retries, naming the URL and the connection error', async () => {
		const url = `http://127.0.0.1:${await freePort()}`;
		const store = new ChromaKnowledgeStore({ url }, { policy: retries() });
		const error = await store.list().catch((e: unknown) => e);
		expect(error).toBeInstanceOf(RagError);
		expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
		expect((error as Error).message).toMatch(
			new RegExp(
				`^Cannot reach Chroma at ${url} to list knowledge bases after 3 attempts: connection refused \\(127\\.0\\.0\\.1:\\d+\\)$`,
			),
		);
	});
});

/** A proxy in front of Chroma under /chroma that can demand a token, fail requests, or hold them unanswered. */
interface Proxy {
	url: string;
	requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders }>;
	/** Answers for the next requests, in order, instead of forwarding them. */
	failures: Array<{ status: number; headers?: Record<string, string>; body?: unknown }>;
	/** Holds requests without answering. */
	hold: boolean;
	/** Requests the client closed before an answer. */
	abandoned: number;
	token?: string;
	stop(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
	const target = new URL(chroma.url);
	const proxy: Proxy = {
		url: '',
		requests: [],
		failures: [],
		hold: false,
		abandoned: 0,
		stop: () => {
			server.closeAllConnections();
			return new Promise((resolve) => server.close(() => resolve()));
		},
	};
	const server: Server = createServer((req, res) => {
		proxy.requests.push({ method: req.method!, path: req.url!, headers: req.headers });
		res.on('close', () => {
			if (!res.writableEnded) proxy.abandoned++;
		});
		const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
			res.writeHead(status, { 'content-type': 'application/json', ...headers });
			res.end(JSON.stringify(body));
		};
		if (proxy.hold) return;
		if (proxy.token && req.headers['x-chroma-token'] !== proxy.token)
			return json(401, { error: 'AuthError', message: 'Unauthorized' });
		const failure = proxy.failures.shift();
		if (failure) return json(failure.status, failure.body ?? {}, failure.headers);
		if (!req.url!.startsWith('/chroma/')) return json(404, '');
		const upstream = request(
			{
				host: target.hostname,
				port: target.port,
				method: req.method,
				path: req.url!.slice('/chroma'.length),
				headers: req.headers,
			},
			(answer) => {
				res.writeHead(answer.statusCode!, answer.headers);
				answer.pipe(res);
			},
		);
		req.pipe(upstream);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chroma/`;
	return proxy;
}

describe('through a proxy', () => {
	let proxy: Proxy;
	beforeEach(async () => {
		proxy = await startProxy();
	});
	afterEach(() => proxy.stop());

	it('reaches Chroma under a path prefix, with the tenant, database and auth headers on every request', async () => {
		proxy.token = 's3cret';
		const store = new ChromaKnowledgeStore(
			{
				url: proxy.url,
				headers: { 'X-Chroma-Token': 's3cret' },
				tenant: 'default_tenant',
				database: 'default_database',
			},
			{ policy: new NoRetryPolicy() },
		);
		const kb = await store.open('kb-proxied', { create: true });
		await kb.upsert([{ id: 'a', text: 'Alpha', embedding: [1, 0], metadata: { source: 'a.md' } }]);
		expect(await kb.count()).toBe(1);
		expect(await store.list()).toContain('kb-proxied');
		expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
			expect.arrayContaining([
				'POST /chroma/api/v2/tenants/default_tenant/databases/default_database/collections',
				'GET /chroma/api/v2/pre-flight-checks',
				`POST /chroma/api/v2/tenants/default_tenant/databases/default_database/collections/${kb.collection.id}/upsert`,
				`PUT /chroma/api/v2/tenants/default_tenant/databases/default_database/collections/${kb.collection.id}`,
			]),
		);
		expect(proxy.requests.every((r) => r.headers['x-chroma-token'] === 's3cret')).toBe(true);

		// Another store of the same server (as the next n8n execution makes) writes without asking the pre-flight checks
		// again, and knows the stored dimension from the collection it opened, without reading a record.
		const again = await new ChromaKnowledgeStore(
			{ url: proxy.url, headers: { 'X-Chroma-Token': 's3cret' } },
			{ policy: new NoRetryPolicy() },
		).open('kb-proxied');
		const before = proxy.requests.length;
		expect(await again.dimension()).toBe(2);
		expect(proxy.requests).toHaveLength(before);
		await again.upsert([
			{ id: 'b', text: 'Beta', embedding: [0, 1], metadata: { source: 'b.md' } },
		]);
		expect(proxy.requests.filter((r) => r.path.endsWith('/pre-flight-checks'))).toHaveLength(1);
	});

	it('a 401 means the credential was refused, without retries', async () => {
		proxy.token = 'right';
		const store = new ChromaKnowledgeStore(
			{ url: proxy.url, headers: { 'X-Chroma-Token': 'wrong' } },
			{ policy: retries() },
		);
		await expect(store.list()).rejects.toMatchObject({
			code: 'STORE_ERROR',
			message:
				'Chroma refused the credential to list knowledge bases: Unauthorized (HTTP 401 AuthError) (check the token and its tenant/database)',
		});
		expect(proxy.requests).toHaveLength(1);
	});

	it('a 503 is retried after the Retry-After the server asked for', async () => {
		proxy.failures.push({
			status: 503,
			headers: { 'retry-after': '1' },
			body: { error: 'Unavailable', message: 'starting' },
		});
		const log: string[] = [];
		const store = new ChromaKnowledgeStore(
			{ url: proxy.url },
			{ policy: retries(), log: (line) => log.push(line) },
		);
		const started = Date.now();
		expect(await store.list()).toEqual(expect.any(Array));
		expect(Date.now() - started).toBeGreaterThanOrEqual(990);
		expect(log).toEqual([
			'Chroma: list knowledge bases failed (attempt 1), retrying in 1000 ms: starting (HTTP 503 Unavailable)',
		]);
	});

	it('the caller’s abort stops the request in flight', async () => {
		proxy.hold = true;
		const controller = new AbortController();
		const store = new ChromaKnowledgeStore(
			{ url: proxy.url },
			{ policy: retries(), signal: controller.signal },
		);
		const listing = store.list().catch((e: unknown) => e);
		await waitUntil(() => proxy.requests.length === 1);
		const reason = new Error('cancelled by the workflow');
		controller.abort(reason);
		expect(await listing).toBe(reason);
		await waitUntil(() => proxy.abandoned === 1);
		expect(proxy.requests).toHaveLength(1);
	});

	it('a timed-out attempt stops its request; after the retries Chroma counts as unreachable', async () => {
		proxy.hold = true;
		const store = new ChromaKnowledgeStore(
			{ url: proxy.url },
			{ policy: new FixedDelayRetryPolicy({ maxRetries: 1, delay: 10 }), timeoutMs: 200 },
		);
		await expect(store.list()).rejects.toMatchObject({
			code: 'STORE_UNAVAILABLE',
			message: `Cannot reach Chroma at ${proxy.url} to list knowledge bases after 2 attempts: Attempt timed out after 200 ms`,
		});
		await waitUntil(() => proxy.abandoned === 2);
	});
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}
