/**
 * The keyword index shared in Redis (real Redis, real Chroma): it ranks exactly as the per-process index does, after
 * adds, replacements and removals; it is built once for every process and kept in step with Chroma's revision; a
 * rebuilt index is read again by a process that cached its lengths; retrieve() uses it when the store asks for it.
 */
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';
import Redis from 'ioredis';

import { createEmbeddings, type LlmConfig } from '../../../lib/llm';
import {
	Bm25Index,
	ChromaKnowledgeStore,
	ingestDocuments,
	keywordIndexFor,
	keywordTerms,
	loadDocument,
	retrieve,
	SharedKeywordIndex,
	type KnowledgeBaseCollection,
} from '../../../lib/rag';
import { NoRetryPolicy } from '../../../lib/retry';
import { startChroma, type ChromaServer } from '../../../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../../../stack/model-server';
import { redisFromEnv } from '../../../stack/services';
import { OPTION_DOCS } from '../../support/option-docs';

const model = new OfflineModelServer();
const policy = new NoRetryPolicy();
const prefix = `openagents-test:keywords:${randomUUID()}:`;
let chroma: ChromaServer;
let llm: LlmConfig;
let redis: Redis;

const DOCS = OPTION_DOCS;
const QUERIES = [
	'reconnect after the connection is lost',
	'maxRetriesPerRequest',
	'cluster node redirections',
	'queue commands server',
	'zstd',
];

async function ingest(kb: KnowledgeBaseCollection, docs: Record<string, string>) {
	const loaded = await Promise.all(
		Object.entries(docs).map(([source, content]) =>
			loadDocument({ source, content, format: 'markdown' }),
		),
	);
	return ingestDocuments(kb, createEmbeddings(llm), loaded, {
		chunkSize: 400,
		chunkOverlap: 0,
		embedding: { policy },
	});
}

/** A store whose knowledge bases keep their keyword index in Redis under this test's prefix. */
const sharedStore = () =>
	new ChromaKnowledgeStore({ url: chroma.url }, { policy, keywordIndex: { redis, prefix } });
const plainStore = () => new ChromaKnowledgeStore({ url: chroma.url }, { policy });

beforeAll(async () => {
	redis = new Redis(redisFromEnv());
	[chroma, llm] = await Promise.all([
		startChroma(),
		model.start().then((baseUrl) => offlineModelConfig(baseUrl)),
	]);
}, 60_000);
afterAll(async () => {
	const keys = await redis.keys(`${prefix}*`);
	if (keys.length) await redis.del(...keys);
	redis.disconnect();
	await Promise.all([chroma?.stop(), model.stop()]);
});

describe('SharedKeywordIndex', () => {
	const word = fc.constantFrom('redis', 'pool', 'retry', 'queue', 'timeout', 'cluster', 'tls');
	const text = fc.array(word, { minLength: 1, maxLength: 12 }).map((words) => words.join(' '));

	it('ranks as the per-process BM25 index does, after adds, replacements and removals', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), text), { minLength: 1, maxLength: 40 }),
				fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 10 }),
				fc.array(word, { minLength: 1, maxLength: 4 }).map((words) => words.join(' ')),
				async (adds, removals, query) => {
					const shared = new SharedKeywordIndex(redis, randomUUID(), prefix);
					const local = new Bm25Index();
					for (const [n, body] of adds) {
						await shared.add([{ id: `d${n}`, text: body, metadata: {} }]);
						local.add(`d${n}`, keywordTerms(body));
					}
					await shared.remove(removals.map((n) => `d${n}`));
					for (const n of removals) local.remove(`d${n}`);
					expect(await shared.size()).toBe(local.size);
					const want = local.search(keywordTerms(query), 5);
					const got = await shared.search(query, 5);
					expect(got.map((h) => h.id)).toEqual(want.map((h) => h.id));
					expect(got.map((h) => h.score)).toEqual(want.map((h) => expect.closeTo(h.score, 9)));
				},
			),
			{ numRuns: 40 },
		);
	});

	it('adds a batch larger than one write script in one call', async () => {
		const shared = new SharedKeywordIndex(redis, randomUUID(), prefix);
		await shared.add(
			Array.from({ length: 1200 }, (_, i) => ({
				id: `c${i}`,
				text: `chunk number${i} ${i % 2 ? 'odd' : 'even'}`,
				metadata: {},
			})),
		);
		expect(await shared.size()).toBe(1200);
		expect((await shared.search('number1199', 3)).map((h) => h.id)).toEqual(['c1199']);
		expect(await shared.search('odd', 1000)).toHaveLength(600);
	});
});

describe('a knowledge base with a shared keyword index', () => {
	const KB = 'kb-shared-keywords';

	beforeAll(async () => {
		await ingest(await sharedStore().open(KB, { create: true }), DOCS);
	}, 60_000);

	it('finds the same chunks as the per-process index, through retrieve()', async () => {
		const embeddings = createEmbeddings(llm);
		for (const query of QUERIES) {
			const [shared, own] = await Promise.all(
				[sharedStore(), plainStore()].map(async (store) =>
					retrieve(await store.open(KB), embeddings, query, {
						topK: 4,
						mode: 'keyword',
						embedding: { policy },
					}),
				),
			);
			expect(shared.map((c) => c.id)).toEqual(own.map((c) => c.id));
		}
		expect(
			(
				await retrieve(await sharedStore().open(KB), embeddings, 'maxRetriesPerRequest', {
					topK: 4,
					mode: 'keyword',
					embedding: { policy },
				})
			)[0].source,
		).toBe('options.md');
	});

	it('is built once for every process: another process reads nothing from Chroma', async () => {
		await keywordIndexFor(await sharedStore().open(KB));
		// A fresh handle (another worker) on the same Redis: the index is there at this revision.
		const kb = await sharedStore().open(KB);
		const reads = [
			jest.spyOn(kb, 'getByIds'),
			jest.spyOn(kb, 'allIds'),
			jest.spyOn(kb, 'forEachChunk'),
		];
		const other = new SharedKeywordIndex(redis, kb.collection.id, prefix);
		await other.sync(kb);
		for (const read of reads) expect(read).not.toHaveBeenCalled();
		expect((await other.search('maxRetriesPerRequest', 1))[0].id).toMatch(/./);
	});

	it('builds a new knowledge base once when processes ask at the same time', async () => {
		const name = 'kb-shared-keywords-race';
		await ingest(await plainStore().open(name, { create: true }), DOCS);
		const handles = await Promise.all([1, 2, 3].map(() => sharedStore().open(name)));
		const builds = handles.map((kb) => jest.spyOn(kb, 'forEachChunk'));
		const indexes = handles.map((kb) => new SharedKeywordIndex(redis, kb.collection.id, prefix));
		await Promise.all(indexes.map((index, i) => index.sync(handles[i])));
		expect(builds.reduce((calls, spy) => calls + spy.mock.calls.length, 0)).toBe(1);
		expect(await indexes[2].size()).toBe(await handles[0].count());
	});

	it('follows writes made without it (a new revision) and drops removed chunks', async () => {
		const name = 'kb-shared-keywords-sync';
		const writer = await plainStore().open(name, { create: true });
		await ingest(writer, DOCS);
		const search = async (query: string) =>
			(await keywordIndexFor(await sharedStore().open(name))).search(query, 5);
		expect(await search('zstd')).toEqual([]);
		await ingest(writer, {
			'compression.md': '# Compression\n\nEnable zstd compression of large values.',
		});
		expect(await search('zstd')).toHaveLength(1);
		const options = (await writer.getByIds(await writer.allIds(), { documents: true })).find(
			(chunk) => chunk.text.includes('maxRetriesPerRequest'),
		)!;
		await writer.deleteIds([options.id]);
		expect(await search('maxRetriesPerRequest')).toEqual([]);
		expect(
			await ((await keywordIndexFor(await sharedStore().open(name))) as SharedKeywordIndex).size(),
		).toBe(await writer.count());
	});

	it('takes the writes of a store that has it as they are made: no process re-reads them from Chroma', async () => {
		const name = 'kb-shared-keywords-hooks';
		const writer = await sharedStore().open(name, { create: true });
		await ingest(writer, DOCS);
		await keywordIndexFor(await sharedStore().open(name)); // built once
		await ingest(writer, {
			'compression.md': '# Compression\n\nEnable zstd compression of large values.',
		});
		const options = (await writer.getByIds(await writer.allIds(), { documents: true })).find(
			(chunk) => chunk.text.includes('maxRetriesPerRequest'),
		)!;
		await writer.deleteIds([options.id]);
		const reader = await sharedStore().open(name);
		const reads = [
			jest.spyOn(reader, 'getByIds'),
			jest.spyOn(reader, 'allIds'),
			jest.spyOn(reader, 'forEachChunk'),
		];
		const index = (await keywordIndexFor(reader)) as SharedKeywordIndex;
		for (const read of reads) expect(read).not.toHaveBeenCalled();
		expect(await index.search('zstd', 5)).toHaveLength(1);
		expect(await index.search('maxRetriesPerRequest', 5)).toEqual([]);
		expect(await index.size()).toBe(await reader.count());
	});

	it('re-reads a write made meanwhile by a store without it, though a write with it follows', async () => {
		const name = 'kb-shared-keywords-mixed';
		await ingest(await sharedStore().open(name, { create: true }), DOCS);
		await keywordIndexFor(await sharedStore().open(name));
		const withIndex = await sharedStore().open(name); // opened before the other write
		await ingest(await plainStore().open(name), {
			'compression.md': '# Compression\n\nEnable zstd compression of large values.',
		});
		await ingest(withIndex, {
			'pools.md': '# Pools\n\nKeep idle sockets in a pool.',
		});
		const index = await keywordIndexFor(await sharedStore().open(name));
		expect(await index.search('zstd', 5)).toHaveLength(1);
		expect(await index.search('idle', 5)).toHaveLength(1);
	});

	it('is deleted with its knowledge base, and only its own', async () => {
		const name = 'kb-shared-keywords-dropped';
		await ingest(await sharedStore().open(name, { create: true }), DOCS);
		const kb = await sharedStore().open(name);
		const index = (await keywordIndexFor(kb)) as SharedKeywordIndex;
		const others = await redis.keys(`${prefix}*`);
		const own = await redis.keys(keyOf(index, '*'));
		expect(own.length).toBeGreaterThan(5);
		await sharedStore().drop(name);
		expect(await redis.keys(keyOf(index, '*'))).toEqual([]);
		expect((await redis.keys(`${prefix}*`)).sort()).toEqual(
			others.filter((key) => !own.includes(key)).sort(),
		);
	});

	it('is read again by a process that cached it when the index is rebuilt (Redis lost its data)', async () => {
		const name = 'kb-shared-keywords-rebuilt';
		await ingest(await plainStore().open(name, { create: true }), DOCS);
		const kb = await sharedStore().open(name);
		const index = new SharedKeywordIndex(redis, kb.collection.id, prefix);
		await index.sync(kb);
		const before = await index.search('connection server cluster', 3);
		// Redis loses the index; another process rebuilds it after a chunk came and went, so every number moves by one.
		const other = new SharedKeywordIndex(redis, kb.collection.id, prefix);
		await dropIndexOf(other);
		await other.add([{ id: 'decoy', text: 'unrelated words only', metadata: {} }]);
		await other.remove(['decoy']);
		await other.sync(kb);
		await index.sync(kb);
		expect(await index.search('connection server cluster', 3)).toEqual(
			before.map((hit) => ({ id: hit.id, score: expect.closeTo(hit.score, 9) })),
		);
	});
});

/** A key of `index` (its private key function), for tests that damage the index on purpose. */
function keyOf(index: SharedKeywordIndex, name: string): string {
	return (index as unknown as { key: (name: string) => string }).key(name);
}

/** Deletes every key of `index`, as a Redis that lost its data would. */
async function dropIndexOf(index: SharedKeywordIndex): Promise<void> {
	const keys = await redis.keys(keyOf(index, '*'));
	if (keys.length) await redis.del(...keys);
}
