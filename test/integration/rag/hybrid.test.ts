/**
 * Keyword and hybrid retrieval on a real Chroma server: BM25 terms, the convex combination and Reciprocal Rank Fusion, each search mode and
 * option, the keyword index kept in step with Chroma across writes and processes, reranking (a reranker function
 * and the offline server's /rerank).
 */
import fc from 'fast-check';

import { createEmbeddings, rerankWithApi, type LlmConfig } from '../../../lib/llm';

import {
	Bm25Index,
	ChromaKnowledgeStore,
	convexCombination,
	DEFAULT_KEYWORD_WEIGHT,
	ingestDocuments,
	KeywordIndex,
	keywordTerms,
	loadDocument,
	reciprocalRankFusion,
	retrieve,
	type RetrievalOptions,
} from '../../../lib/rag';
import { NoRetryPolicy } from '../../../lib/retry';
import { startChroma, type ChromaServer } from '../../../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../../../stack/model-server';
import { OPTION_DOCS } from '../../support/option-docs';

const model = new OfflineModelServer();
const policy = new NoRetryPolicy();
let chroma: ChromaServer;
let llm: LlmConfig;
let store: ChromaKnowledgeStore;

const DOCS = OPTION_DOCS;
const KB = 'kb-hybrid';
const embeddings = () => createEmbeddings(llm);
const search = (query: string, options: RetrievalOptions = {}) =>
	store
		.open(KB)
		.then((kb) =>
			retrieve(kb, embeddings(), query, { topK: 5, embedding: { policy }, ...options }),
		);
const sources = (chunks: Array<{ source: string }>) => chunks.map((c) => c.source);

async function ingest(docs: Record<string, string>) {
	const kb = await store.open(KB, { create: true });
	const loaded = await Promise.all(
		Object.entries(docs).map(([source, content]) =>
			loadDocument({ source, content, format: 'markdown' }),
		),
	);
	return ingestDocuments(kb, embeddings(), loaded, {
		chunkSize: 400,
		chunkOverlap: 0,
		embedding: { policy },
	});
}

beforeAll(async () => {
	[chroma, llm] = await Promise.all([
		startChroma(),
		model.start().then((baseUrl) => offlineModelConfig(baseUrl)),
	]);
	store = new ChromaKnowledgeStore({ url: chroma.url }, { policy });
	await ingest(DOCS);
}, 60_000);
afterAll(async () => {
	await Promise.all([chroma?.stop(), model.stop()]);
});
beforeEach(() => model.reset());

describe('keywordTerms', () => {
	it('keeps identifiers whole and adds their parts, lower-cased, without stop words', () => {
		expect(keywordTerms('Set maxRetriesPerRequest to the node-fetch URL')).toEqual([
			'set',
			'maxretriesperrequest',
			'max',
			'retri',
			'per',
			'request',
			'node-fetch',
			'node',
			'fetch',
			'url',
		]);
		expect(keywordTerms('CircleCI, HTTPServer v2.1 über')).toEqual([
			'circleci',
			'circl',
			'ci',
			'httpserver',
			'http',
			'server',
			'v2.1',
			'v2',
			'1',
			'über',
		]);
	});

	it('reduces words to their stems, so a query finds the other forms of its words', () => {
		expect(keywordTerms('publishing published publishes')).toEqual([
			'publish',
			'publish',
			'publish',
		]);
		expect(keywordTerms("the package's dependencies")).toEqual(keywordTerms('packages depend'));
	});
});

describe('Bm25Index', () => {
	/** BM25 straight from the formula (Lucene idf, k1 1.2, b 0.75), over every document. */
	function reference(docs: Map<string, string[]>, query: string[], limit: number) {
		const N = docs.size;
		const avgdl = [...docs.values()].reduce((sum, d) => sum + d.length, 0) / N;
		const scored = [...docs].map(([id, terms]) => {
			let score = 0;
			for (const t of new Set(query)) {
				const df = [...docs.values()].filter((d) => d.includes(t)).length;
				const tf = terms.filter((x) => x === t).length;
				if (!tf) continue;
				const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
				score += (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * terms.length) / avgdl));
			}
			return { id, score };
		});
		return scored
			.filter((s) => s.score > 0)
			.sort((a, b) => b.score - a.score)
			.slice(0, limit);
	}
	const word = fc.constantFrom(
		'redis',
		'pool',
		'retry',
		'queue',
		'timeout',
		'cluster',
		'tls',
		'node',
	);
	const doc = fc.array(word, { minLength: 1, maxLength: 12 });

	it('scores as the BM25 formula does, after adds, replacements and removals', () => {
		fc.assert(
			fc.property(
				fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), doc), { minLength: 1, maxLength: 60 }),
				fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 20 }),
				fc.array(word, { minLength: 1, maxLength: 4 }),
				(adds, removals, query) => {
					const index = new Bm25Index();
					const docs = new Map<string, string[]>();
					for (const [n, terms] of adds) {
						index.add(`d${n}`, terms);
						docs.set(`d${n}`, terms);
					}
					for (const n of removals) {
						index.remove(`d${n}`);
						docs.delete(`d${n}`);
					}
					expect(index.size).toBe(docs.size);
					const got = index.search(query, 5);
					const want = reference(docs, query, 5);
					expect(got.map((g) => g.score)).toEqual(want.map((w) => expect.closeTo(w.score, 9)));
					// Same ids up to ties: each returned document has its reference score.
					const scoreOf = new Map(reference(docs, query, Infinity).map((r) => [r.id, r.score]));
					for (const g of got) expect(g.score).toBeCloseTo(scoreOf.get(g.id)!, 9);
				},
			),
			{ numRuns: 200 },
		);
	});

	it('compacts after many removals and keeps answering the same', () => {
		const index = new Bm25Index();
		for (let i = 0; i < 3000; i++) index.add(`d${i}`, i % 2 ? ['odd', `n${i}`] : ['even', `n${i}`]);
		for (let i = 0; i < 3000; i += 2) index.remove(`d${i}`);
		expect(index.size).toBe(1500);
		expect(index.search(['even'], 10)).toEqual([]);
		expect(index.search(['n2999'], 10).map((h) => h.id)).toEqual(['d2999']);
		expect(index.search(['odd'], 3)).toHaveLength(3);
	});
});

describe('reciprocalRankFusion', () => {
	it('sums weight / (k + rank) over the lists, best first', () => {
		const fused = reciprocalRankFusion(
			[
				{ ids: ['a', 'b', 'c'], weight: 0.5 },
				{ ids: ['c', 'a'], weight: 0.5 },
			],
			60,
		);
		expect(fused.map((f) => f.id)).toEqual(['a', 'c', 'b']);
		expect(fused[0].score).toBeCloseTo(0.5 / 61 + 0.5 / 62, 12);
		expect(fused[2].score).toBeCloseTo(0.5 / 62, 12);
	});
});

describe('search modes', () => {
	it('keyword mode ranks the one source that names the option first, with its BM25 score, and embeds nothing', async () => {
		const results = await search('maxRetriesPerRequest', { mode: 'keyword' });
		expect(sources(results)).toEqual(['options.md']);
		expect(results[0].keywordScore).toBeGreaterThan(0);
		expect(results[0].score).toBe(results[0].keywordScore);
		expect(results[0].vectorScore).toBeUndefined();
		expect(model.requestsTo('embeddings')).toHaveLength(0);
	});

	it('hybrid with RRF fuses both rankings: it finds the named option and the paraphrases, each with the scores it has', async () => {
		const query = 'what does maxRetriesPerRequest do when the connection is lost';
		const [vector, keyword, hybrid] = await Promise.all(
			(['vector', 'keyword', 'hybrid'] as const).map((mode) =>
				search(query, { mode, topK: 3, hybrid: { fusion: 'rrf' } }),
			),
		);
		expect(sources(hybrid)).toContain('options.md');
		for (const chunk of hybrid) expect(chunk.vectorScore).toEqual(expect.any(Number));
		const expected = reciprocalRankFusion([
			{ ids: (await search(query, { mode: 'vector', topK: 40 })).map((c) => c.id), weight: 0.5 },
			{ ids: (await search(query, { mode: 'keyword', topK: 40 })).map((c) => c.id), weight: 0.5 },
		]);
		expect(hybrid.map((c) => c.id)).toEqual(expected.slice(0, 3).map((f) => f.id));
		expect(hybrid.map((c) => c.score)).toEqual(expected.slice(0, 3).map((f) => f.score));
		expect(vector.length + keyword.length).toBeGreaterThan(0);
	});

	it('keyword weight 0 gives the vector order, 1 the keyword order; RRF k changes the scores', async () => {
		const query = 'client reconnects server connection';
		const ids = (chunks: Array<{ id: string }>) => chunks.map((c) => c.id);
		expect(ids(await search(query, { hybrid: { keywordWeight: 0 } }))).toEqual(
			ids(await search(query, { mode: 'vector' })),
		);
		expect(ids(await search(query, { hybrid: { keywordWeight: 1 } }))).toEqual(
			ids(await search(query, { mode: 'keyword' })),
		);
		const [k60, k1] = [
			await search(query, { hybrid: { fusion: 'rrf', rrfK: 60 } }),
			await search(query, { hybrid: { fusion: 'rrf', rrfK: 1 } }),
		];
		expect(k1[0].score).toBeGreaterThan(k60[0].score);
	});

	it('hybrid fuses by default with the convex combination of both lists, keyword weight 0.8', async () => {
		const query = 'what does maxRetriesPerRequest do when the connection is lost';
		const hybrid = await search(query, { topK: 3 });
		// Both lists 40 deep, as hybrid searches them; minScore −1 has keyword mode report each chunk's cosine.
		const [vector, keyword] = await Promise.all([
			search(query, { mode: 'vector', topK: 40 }),
			search(query, { mode: 'keyword', topK: 40, minScore: -1 }),
		]);
		// Candidates in hybrid's order (vector list, then keyword-only hits); Chroma's cosine where it gave one.
		const candidates = new Map<
			string,
			{ id: string; vectorScore?: number; keywordScore?: number }
		>();
		for (const c of vector) candidates.set(c.id, { id: c.id, vectorScore: c.vectorScore });
		for (const c of keyword)
			candidates.set(c.id, {
				id: c.id,
				vectorScore: candidates.get(c.id)?.vectorScore ?? c.vectorScore,
				keywordScore: c.keywordScore,
			});
		const expected = convexCombination([...candidates.values()], DEFAULT_KEYWORD_WEIGHT.convex);
		expect(hybrid.map((c) => c.id)).toEqual(expected.slice(0, 3).map((f) => f.id));
		expect(hybrid.map((c) => c.score)).toEqual(expected.slice(0, 3).map((f) => f.score));
		for (const chunk of hybrid) expect(chunk.vectorScore).toEqual(expect.any(Number));
	});

	it('keeps the one chunk that names the option first where equal-weight RRF lets the vector ranking pull it down', async () => {
		const query = 'what does maxRetriesPerRequest do when the connection is lost';
		const [fused, rrf] = await Promise.all([
			search(query),
			search(query, { hybrid: { fusion: 'rrf' } }),
		]);
		expect(fused[0].source).toBe('options.md');
		expect(rrf[0].source).not.toBe('options.md');
	});

	it('refuses an unknown fusion', async () => {
		await expect(
			search('client', { hybrid: { fusion: 'max' as unknown as 'rrf' } }),
		).rejects.toThrow(/Fusion must be one of convex, rrf/);
	});

	it('applies the metadata filter in keyword and hybrid mode too', async () => {
		for (const mode of ['keyword', 'hybrid'] as const) {
			const results = await search('maxRetriesPerRequest connection', {
				mode,
				where: { source: { $ne: 'options.md' } },
			});
			expect(sources(results)).not.toContain('options.md');
		}
	});

	it('applies the minimum score to the cosine similarity in every mode', async () => {
		for (const mode of ['keyword', 'hybrid', 'vector'] as const) {
			const results = await search('client connection server', { mode, minScore: 0.2 });
			for (const chunk of results) expect(chunk.vectorScore).toBeGreaterThanOrEqual(0.2);
		}
	});
});

describe('the keyword index follows Chroma', () => {
	it('sees chunks added and removed by any writer, in this process and in a fresh one', async () => {
		expect(sources(await search('zstd', { mode: 'keyword' }))).toEqual([]);
		await ingest({
			'compression.md': '# Compression\n\nEnable zstd compression for large values.',
		});
		expect(sources(await search('zstd', { mode: 'keyword' }))).toEqual(['compression.md']);
		const kb = await store.open(KB);
		await kb.deleteIds(await kb.idsWhere({ source: 'compression.md' }));
		expect(sources(await search('zstd', { mode: 'keyword' }))).toEqual([]);
		// Another process (a worker that just started) builds its index from Chroma: same chunks.
		const fresh = new KeywordIndex();
		await fresh.sync(await store.open(KB));
		expect(fresh.size).toBe(await (await store.open(KB)).count());
		expect(fresh.search('maxRetriesPerRequest', 5).length).toBe(1);
	});

	it('reads nothing from Chroma when the knowledge base has not changed', async () => {
		const kb = await store.open(KB);
		const index = new KeywordIndex();
		await index.sync(kb);
		const again = await store.open(KB);
		const reads = [
			jest.spyOn(again, 'getByIds'),
			jest.spyOn(again, 'allIds'),
			jest.spyOn(again, 'forEachChunk'),
		];
		await index.sync(again);
		for (const read of reads) expect(read).not.toHaveBeenCalled();
	});
});

describe('reranking', () => {
	it('reorders the candidates by the reranker scores and reports them', async () => {
		const byLength = {
			rerank: async (_query: string, documents: string[]) => documents.map((d) => -d.length),
		};
		const results = await search('connection client', {
			rerank: { reranker: byLength, candidates: 5 },
		});
		const lengths = results.map((r) => r.text.length);
		expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
		expect(results.map((r) => r.rerankScore)).toEqual(lengths.map((l) => -l));
	});

	it('scores through an OpenAI-style /rerank endpoint: model, query and documents sent, scores in document order', async () => {
		const scores = await rerankWithApi(
			llm,
			'offline-reranker',
			'zstd compression',
			['nothing here', 'enable zstd compression'],
			{
				policy,
			},
		);
		expect(scores[1]).toBeGreaterThan(scores[0]);
		const [request] = model.requestsTo('rerank');
		expect(request.body).toMatchObject({
			model: 'offline-reranker',
			query: 'zstd compression',
			documents: ['nothing here', 'enable zstd compression'],
		});
	});
});
