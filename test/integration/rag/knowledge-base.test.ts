/**
 * lib/rag on a real Chroma server with the offline model server for embeddings and answers: idempotent ingest,
 * recovery after a failure midway, dimension checks, retrieval (filter, minimum score, MMR) and cited answers.
 */
import { createChatModel, createEmbeddings, type LlmConfig } from '../../../lib/llm';
import {
	answerFromChunks,
	ChromaKnowledgeStore,
	ingestDocuments,
	loadDocument,
	RagError,
	retrieve,
	type IngestOptions,
	type LoadedDocument,
} from '../../../lib/rag';
import { FixedDelayRetryPolicy, NoRetryPolicy } from '../../../lib/retry';
import { startChroma, type ChromaServer } from '../../../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../../../stack/model-server';
import { freePort } from '../../../stack/process';

const model = new OfflineModelServer();
let chroma: ChromaServer;
let llm: LlmConfig;
let store: ChromaKnowledgeStore;

beforeAll(async () => {
	[chroma, llm] = await Promise.all([
		startChroma(),
		model.start().then((baseUrl) => offlineModelConfig(baseUrl)),
	]);
	store = new ChromaKnowledgeStore({ url: chroma.url }, { policy: new NoRetryPolicy() });
}, 60_000);
afterAll(async () => {
	await Promise.all([chroma?.stop(), model.stop()]);
});
beforeEach(() => model.reset());

const policy = new NoRetryPolicy();
const options = (extra: Partial<IngestOptions> = {}): IngestOptions => ({
	chunkSize: 120,
	chunkOverlap: 20,
	embedding: { policy, batchSize: 8 },
	...extra,
});
const embeddings = () => createEmbeddings(llm);

const paragraphs = (topic: string, n: number) =>
	Array.from(
		{ length: n },
		(_, i) =>
			`Paragraph ${i} about ${topic}: ${topic} setting number ${i} changes how the ${topic} client behaves.`,
	).join('\n\n');

async function docs(): Promise<LoadedDocument[]> {
	return Promise.all([
		loadDocument({
			source: 'redis.md',
			content: `# Redis\n\n${paragraphs('redis', 12)}`,
			format: 'markdown',
		}),
		loadDocument({ source: 'postgres.txt', content: paragraphs('postgres', 10) }),
	]);
}

async function storedIds(name: string): Promise<string[]> {
	const kb = await store.open(name);
	return (await kb.collection.get({ include: [] as never })).ids;
}

describe('ingestDocuments', () => {
	it('writes each chunk once; re-ingesting unchanged sources embeds and writes nothing', async () => {
		const kb = await store.open('kb-idempotent', { create: true });
		const first = await ingestDocuments(kb, embeddings(), await docs(), options());
		expect(first.added).toBeGreaterThan(15);
		expect(first.unchanged).toBe(0);
		expect(first.removed).toBe(0);
		expect(first.embeddingCalls).toBe(Math.ceil(first.added / 8));
		expect(model.requestsTo('embeddings')).toHaveLength(first.embeddingCalls);
		expect(await kb.count()).toBe(first.added);

		model.reset();
		const again = await ingestDocuments(kb, embeddings(), await docs(), options());
		expect(again).toMatchObject({
			added: 0,
			unchanged: first.added,
			removed: 0,
			embeddingCalls: 0,
			upsertRequests: 0,
		});
		expect(model.requestsTo('embeddings')).toHaveLength(0);
		expect(await kb.count()).toBe(first.added);
	});

	it('on a changed source adds the new chunks and removes the stale ones, leaving other sources alone', async () => {
		const kb = await store.open('kb-changed', { create: true });
		const [redis, postgres] = await docs();
		const first = await ingestDocuments(kb, embeddings(), [redis, postgres], options());
		const redisBefore = first.sources[0].chunks;

		const edited = {
			...redis,
			text: redis.text
				.replace('Paragraph 3 about redis', 'Paragraph 3 (rewritten) about redis')
				.replace(/\n\nParagraph 11[^\n]*$/, ''),
		};
		const marked = jest.spyOn(kb, 'markChanged');
		const second = await ingestDocuments(kb, embeddings(), [edited], options());
		// Added, updated and removed chunks: one new revision for the whole ingest.
		expect(marked).toHaveBeenCalledTimes(1);
		marked.mockRestore();
		expect(second.sources[0].added).toBeGreaterThanOrEqual(1);
		expect(second.sources[0].removed).toBeGreaterThanOrEqual(2); // the rewritten chunk's old version + the dropped paragraph
		// Chunks after the rewritten paragraph kept their text but moved: their offsets are updated, not re-embedded.
		expect(second.sources[0].updated).toBeGreaterThanOrEqual(1);
		expect(second.sources[0].unchanged + second.sources[0].updated).toBe(
			redisBefore - second.sources[0].removed,
		);
		expect(await kb.count()).toBe(first.added + second.added - second.removed);

		const stored = await kb.collection.get({ include: ['documents', 'metadatas'] as never });
		expect(stored.documents.some((d) => d?.includes('Paragraph 11 about redis'))).toBe(false);
		expect(stored.documents.some((d) => d?.includes('(rewritten)'))).toBe(true);
		// Every stored chunk of the edited source points at where its text is in the edited document.
		stored.metadatas.forEach((m, i) => {
			if (m?.source !== 'redis.md') return;
			expect(edited.text.slice(Number(m.start), Number(m.end))).toBe(stored.documents[i]);
		});
		expect(stored.metadatas.filter((m) => m?.source === 'postgres.txt')).toHaveLength(
			first.sources[1].chunks,
		);
	});

	it('writes the batches embedded during a write together, at most Upsert Batch Size chunks per write', async () => {
		const kb = await store.open('kb-coalesced', { create: true });
		const upsert = kb.collection.upsert.bind(kb.collection);
		const writes: number[] = [];
		jest.spyOn(kb.collection, 'upsert').mockImplementation(async (args) => {
			writes.push(args.ids.length);
			await new Promise((resolve) => setTimeout(resolve, 150)); // a slow Chroma: the embedding runs ahead
			await upsert(args);
		});
		const result = await ingestDocuments(
			kb,
			embeddings(),
			await docs(),
			options({ embedding: { policy, batchSize: 2, concurrency: 8 }, upsertBatchSize: 10 }),
		);
		jest.restoreAllMocks();
		expect(result.embeddingCalls).toBe(Math.ceil(result.added / 2));
		// The first write takes what is embedded when the stored dimension has been read: the first batch to come back
		// (8 requests in flight: any one, a document's last batch may hold a single chunk), sometimes a few more; never
		// more than Upsert Batch Size.
		expect(writes[0]).toBeGreaterThanOrEqual(1);
		expect(writes[0]).toBeLessThanOrEqual(10);
		expect(writes[0]).toBeLessThan(result.added);
		expect(Math.max(...writes)).toBe(10);
		expect(writes.length).toBeLessThan(result.embeddingCalls);
		expect(result.upsertRequests).toBe(writes.length);
		expect(writes.reduce((n, w) => n + w, 0)).toBe(result.added);
		expect(await kb.count()).toBe(result.added);
	});

	it('by default embeds 200 chunks per request and writes at most 250 per Chroma write', async () => {
		const long = await loadDocument({ source: 'long.txt', content: paragraphs('kafka', 270) });
		const byRequest = await ingestDocuments(
			await store.open('kb-default-embedding-batch', { create: true }),
			embeddings(),
			[long],
			options({ embedding: { policy } }),
		);
		expect(byRequest.added).toBeGreaterThan(250);
		expect(byRequest.embeddingCalls).toBe(Math.ceil(byRequest.added / 200));

		const kb = await store.open('kb-default-upsert-batch', { create: true });
		const upsert = kb.collection.upsert.bind(kb.collection);
		const writes: number[] = [];
		jest.spyOn(kb.collection, 'upsert').mockImplementation(async (args) => {
			writes.push(args.ids.length);
			await upsert(args);
		});
		await ingestDocuments(
			kb,
			embeddings(),
			[long],
			options({ embedding: { policy, batchSize: 1000 } }),
		);
		jest.restoreAllMocks();
		expect(writes).toEqual([250, byRequest.added - 250]);
	});

	it('after a failure midway through the upserts, a re-run completes without duplicates or losses', async () => {
		const kb = await store.open('kb-midway', { create: true });
		const upsert = kb.collection.upsert.bind(kb.collection);
		let calls = 0;
		let landed = 0;
		jest.spyOn(kb.collection, 'upsert').mockImplementation(async (args) => {
			if (++calls === 3)
				throw Object.assign(new Error('Chroma write failed'), { name: 'ChromaValueError' });
			await upsert(args);
			landed += args.ids.length;
		});
		const error = await ingestDocuments(
			kb,
			embeddings(),
			await docs(),
			options({ upsertBatchSize: 5 }),
		).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(RagError);
		expect((error as RagError).message).toMatch(
			/Chroma failed to upsert 5 chunks in knowledge base "kb-midway": Chroma write failed/,
		);
		expect(landed).toBeGreaterThan(0); // two upserts landed before the failure
		expect(await kb.count()).toBe(landed);
		// What landed is a change other processes' keyword indexes must see: the ingest left a revision token.
		expect((await store.open('kb-midway')).collection.metadata).toHaveProperty(
			['openagents:revision'],
			expect.any(String),
		);
		jest.restoreAllMocks();

		const rerun = await ingestDocuments(
			kb,
			embeddings(),
			await docs(),
			options({ upsertBatchSize: 5 }),
		);
		expect(rerun.unchanged).toBe(landed);
		expect(rerun.added).toBeGreaterThan(0);
		expect(rerun.added + rerun.unchanged).toBe(rerun.sources.reduce((n, s) => n + s.chunks, 0));
		const ids = await storedIds('kb-midway');
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids).toHaveLength(rerun.added + rerun.unchanged);
	});

	it('refuses vectors of another dimension before writing anything', async () => {
		const kb = await store.open('kb-dimension', { create: true });
		const [redis, postgres] = await docs();
		await ingestDocuments(kb, embeddings(), [redis], options());
		const count = await kb.count();
		const error = await ingestDocuments(
			kb,
			createEmbeddings(llm, { dimensions: 64 }),
			[postgres],
			options({ embedding: { policy, model: 'small-model' } }),
		).catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'DIMENSION_MISMATCH' });
		expect((error as Error).message).toMatch(
			/"kb-dimension" holds 256-dimensional vectors, but the embedding model "small-model" returned 64/,
		);
		expect(await kb.count()).toBe(count);
		// Opened after the first write, the dimension comes from the collection Chroma answered with, not a record.
		const reopened = await store.open('kb-dimension');
		expect(reopened.collection.dimension).toBe(256);
		await expect(
			ingestDocuments(
				reopened,
				createEmbeddings(llm, { dimensions: 64 }),
				[postgres],
				options({ embedding: { policy, model: 'small-model' } }),
			),
		).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' });
		expect(await kb.count()).toBe(count);
	});

	it('refuses the same source twice in one call', async () => {
		const kb = await store.open('kb-twice', { create: true });
		const [redis] = await docs();
		await expect(
			ingestDocuments(kb, embeddings(), [redis, redis], options()),
		).rejects.toMatchObject({
			code: 'INVALID_DOCUMENT',
			message: expect.stringMatching(/"redis.md" is given twice/),
		});
	});
});

describe('whole-collection reads', () => {
	it('read every chunk page by page, whatever the page size (scanPageSize)', async () => {
		const kb = await store.open('kb-pages', { create: true });
		const result = await ingestDocuments(kb, embeddings(), await docs(), options());
		const all = (await storedIds('kb-pages')).sort();
		expect(all.length).toBe(result.added);
		for (const scanPageSize of [7, all.length, 10_000]) {
			const paged = await new ChromaKnowledgeStore(
				{ url: chroma.url },
				{ policy, scanPageSize },
			).open('kb-pages');
			const pages: number[] = [];
			const visited: string[] = [];
			await paged.forEachChunk((chunks) => {
				pages.push(chunks.length);
				visited.push(...chunks.map((c) => c.id));
			});
			expect(visited.sort()).toEqual(all);
			expect(pages.length).toBe(Math.floor(all.length / scanPageSize) + 1);
			expect((await paged.allIds()).sort()).toEqual(all);
			expect([...(await paged.sourceCounts()).values()].reduce((a, b) => a + b)).toBe(all.length);
		}
	});
});

describe('store errors', () => {
	it('names an unknown knowledge base and lists the existing ones', async () => {
		await store.open('kb-exists', { create: true });
		const error = await store.open('kb-missing').catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'UNKNOWN_KNOWLEDGE_BASE' });
		expect((error as Error).message).toMatch(
			/Knowledge base "kb-missing" does not exist in tenant "default_tenant", database "default_database" \(existing: .*kb-exists/,
		);
	});

	it('rejects invalid names before calling Chroma', async () => {
		await expect(store.open('a', { create: true })).rejects.toMatchObject({
			code: 'INVALID_NAME',
			message: expect.stringMatching(/3 to 512/),
		});
		await expect(store.open('my kb!', { create: true })).rejects.toMatchObject({
			code: 'INVALID_NAME',
			message: expect.stringMatching(/only letters, digits/),
		});
	});

	it('reports Chroma down after the retries, naming the URL', async () => {
		const url = `http://127.0.0.1:${await freePort()}`;
		const down = new ChromaKnowledgeStore(
			{ url },
			{ policy: new FixedDelayRetryPolicy({ maxRetries: 2, delay: 10 }) },
		);
		const error = await down.open('kb-any', { create: true }).catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
		expect((error as Error).message).toContain(
			`Cannot reach Chroma at ${url} to create knowledge base "kb-any" after 3 attempts`,
		);
	});
});

describe('retrieve and answer', () => {
	beforeAll(async () => {
		const kb = await store.open('kb-search', { create: true });
		const documents = await Promise.all([
			loadDocument({
				source: 'ioredis.md',
				content:
					'# ioredis\n\n## Timeouts\n\nThe connectTimeout option sets how long ioredis waits for the TCP connection, in milliseconds. The default connectTimeout is 10000.',
				format: 'markdown',
			}),
			loadDocument({
				source: 'pg.md',
				content:
					'# pg\n\nThe max option sets the maximum number of clients in a pg Pool. The idleTimeoutMillis option closes idle clients.',
				format: 'markdown',
			}),
			loadDocument({
				source: 'copy.md',
				content:
					'The connectTimeout option sets how long ioredis waits for the TCP connection, in milliseconds.',
			}),
		]);
		await ingestDocuments(kb, embeddings(), documents, options({ chunkSize: 400 }));
	}, 30_000);

	it('returns the closest chunks with source, position and cosine score, best first', async () => {
		const kb = await store.open('kb-search');
		const results = await retrieve(kb, embeddings(), 'ioredis connectTimeout milliseconds', {
			topK: 2,
			embedding: { policy },
		});
		expect(results).toHaveLength(2);
		expect(results.map((r) => r.source).sort()).toEqual(['copy.md', 'ioredis.md']);
		expect(results[0].score).toBeGreaterThanOrEqual(results[1].score);
		const ioredis = results.find((r) => r.source === 'ioredis.md')!;
		expect(ioredis).toMatchObject({ chunkIndex: 0, start: 0, headingPath: 'ioredis > Timeouts' });
		expect(ioredis.end).toBe(ioredis.text.length);
	});

	it('applies a metadata filter and a minimum score', async () => {
		const kb = await store.open('kb-search');
		const filtered = await retrieve(kb, embeddings(), 'ioredis connectTimeout', {
			topK: 3,
			where: { source: 'pg.md' },
			embedding: { policy },
		});
		expect(filtered.map((r) => r.source)).toEqual(['pg.md']);
		const strict = await retrieve(kb, embeddings(), 'ioredis connectTimeout', {
			topK: 3,
			minScore: 0.3,
			embedding: { policy },
		});
		expect(strict.length).toBeGreaterThan(0);
		expect(strict.every((r) => r.vectorScore! >= 0.3 && r.source !== 'pg.md')).toBe(true);
	});

	it('with MMR, a near-duplicate gives way to a different source', async () => {
		const kb = await store.open('kb-search');
		const plain = await retrieve(kb, embeddings(), 'connectTimeout option ioredis', {
			topK: 2,
			embedding: { policy },
		});
		const diverse = await retrieve(kb, embeddings(), 'connectTimeout option ioredis', {
			topK: 2,
			mmr: { lambda: 0.3, fetchK: 3 },
			embedding: { policy },
		});
		expect(plain.map((r) => r.source).sort()).toEqual(['copy.md', 'ioredis.md']);
		expect(diverse.map((r) => r.source)).toContain('pg.md');
	});

	it('answers from the passages with citations mapped to their sources', async () => {
		const kb = await store.open('kb-search');
		const question = 'What is the default connectTimeout?';
		const chunks = await retrieve(kb, embeddings(), question, { topK: 3, embedding: { policy } });
		const answer = await answerFromChunks(createChatModel(llm), question, chunks, { policy });
		expect(answer.found).toBe(true);
		expect(answer.answer).toMatch(/10000 \[\d\]/);
		expect(answer.sources).toContain('ioredis.md');
		const prompt = JSON.stringify(model.requestsTo('chat')[0].body);
		expect(prompt).toContain('[1] (source: ');
		expect(prompt).toContain('only the numbered context passages');
	});

	it('says so without calling the model when nothing was retrieved', async () => {
		const answer = await answerFromChunks(createChatModel(llm), 'anything', [], { policy });
		expect(answer).toMatchObject({ found: false, citations: [] });
		expect(model.requestsTo('chat')).toHaveLength(0);
	});
});
