/**
 * `npm run eval`: retrieval quality of the Knowledge Base's search modes on two question sets (bench/eval/sets.ts:
 * a, the npm READMEs `npm start` ingests; b, The Cargo Book's HTML pages) × two embedding models of the offline model
 * server: its word-hashing stand-in (no semantics, the default) and a real semantic model (Universal Sentence Encoder
 * Lite, offline-semantic-embedding; slow on CPU, so set a is a subset for it: every answering file and every
 * SEMANTIC_STRIDE-th other README). Per mode, top 10: hit@1, hit@4, hit@10 (a chunk of an answering file ranked
 * within k) and MRR, scored by lib/rag/evaluate.ts (the Knowledge Base's Evaluate operation's code), with each
 * question's rank. Latency: one query (top 10) without the embedding call (query vectors are computed beforehand),
 * p50/p95; and, with the hashing model, on a knowledge base of ≥ EVAL_LARGE_CHUNKS chunks (default 100 000; 0 skips
 * it) made of copies of set a under other source names.
 *
 * Real Chroma (a private server), embeddings and reranker from the offline model server. Writes
 * bench/results/eval.json (EVAL_CANDIDATES=1: the fusions tried, bench/results/eval-candidates.json). EVAL_SETS (a,b), EVAL_EMBEDDINGS (hashing,semantic) narrow a run; EVAL_CHROMA_DIR keeps
 * Chroma's data there, so a later run embeds only what changed (ingest is idempotent).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { createEmbeddings, rerankWithApi, type DocumentEmbedder, type LlmConfig } from '../lib/llm';
import {
	ChromaKnowledgeStore,
	evaluateRetrieval,
	ingestDocuments,
	keywordIndexFor,
	retrieve,
	type KnowledgeBaseCollection,
	type LoadedDocument,
	type ModeRun,
	type RetrievalOptions,
} from '../lib/rag';
import { NoRetryPolicy } from '../lib/retry';
import { startChroma } from '../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../stack/model-server';
import { SEMANTIC_EMBEDDING_MODEL } from '../stack/model-server/semantic-embeddings';
import { QUESTION_SETS, subset, type EvalQuestion, type QuestionSet } from './eval/sets';
import { evalTables, type EvalResult, type EvalRun } from './eval/table';
import { summary } from './stats';

const TOP_K = 10;
const policy = new NoRetryPolicy();
/** Set a with the semantic model: every answering README and every 6th other one (~25 % of the chunks). */
const SEMANTIC_STRIDE = 6;

export interface EmbeddingKind {
	name: 'hashing' | 'semantic';
	model: string;
	/** Texts per embedding request: the semantic model embeds ~6 chunks/s, so smaller requests stay under timeouts. */
	batchSize: number;
}

export const EMBEDDINGS: EmbeddingKind[] = [
	{ name: 'hashing', model: 'offline-embedding', batchSize: 100 },
	{ name: 'semantic', model: SEMANTIC_EMBEDDING_MODEL, batchSize: 16 },
];

/** A search mode as the Knowledge Base node offers it, with its options. */
export type ModeOptions = (llm: LlmConfig) => RetrievalOptions;

export const MODES: Record<string, ModeOptions> = {
	vector: () => ({ mode: 'vector' }),
	keyword: () => ({ mode: 'keyword' }),
	hybrid: () => ({ mode: 'hybrid' }),
	/** The former default, for comparison: equal-weight Reciprocal Rank Fusion. */
	'hybrid (RRF)': () => ({ mode: 'hybrid', hybrid: { fusion: 'rrf' } }),
	'hybrid+rerank': (llm) => ({
		mode: 'hybrid',
		rerank: {
			reranker: {
				rerank: (query, documents) =>
					rerankWithApi(llm, 'offline-reranker', query, documents, { policy }),
			},
			candidates: 20,
		},
	}),
};

/**
 * EVAL_CANDIDATES=1: the fusions tried for hybrid's default instead (bench/results/eval-candidates.json): convex
 * combination and weighted RRF over a range of keyword weights, beside the single modes.
 */
function candidateModes(): Record<string, RetrievalOptions> {
	const modes: Record<string, RetrievalOptions> = {
		vector: { mode: 'vector' },
		keyword: { mode: 'keyword' },
	};
	for (const keywordWeight of [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
		modes[`convex w=${keywordWeight}`] = {
			mode: 'hybrid',
			hybrid: { fusion: 'convex', keywordWeight },
		};
	for (const rrfK of [60, 10])
		for (const keywordWeight of [0.5, 0.6, 0.7, 0.8, 0.9])
			modes[`rrf w=${keywordWeight} k=${rrfK}`] = {
				mode: 'hybrid',
				hybrid: { fusion: 'rrf', keywordWeight, rrfK },
			};
	return modes;
}

/** evaluate.ts matches a part of a source; wrapped like this, only the whole source matches (these sets name files). */
const whole = (source: string) => `<${source}>`;

/** An embedder that answers from vectors computed beforehand: retrieval timings then leave the embedding call out. */
function precomputed(vectors: Map<string, number[]>): DocumentEmbedder {
	return { embedDocuments: async (texts) => texts.map((t) => vectors.get(t)!) };
}

async function ingest(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	documents: readonly LoadedDocument[],
	batchSize: number,
) {
	let [chunks, added] = [0, 0];
	for (let i = 0; i < documents.length; i += 50) {
		const result = await ingestDocuments(kb, embedder, documents.slice(i, i + 50), {
			embedding: { policy, batchSize },
		});
		chunks += result.added + result.unchanged;
		added += result.added;
	}
	return { chunks, added };
}

/** One set's knowledge base with one embedding model, ingested, and its questions' vectors. */
export interface Prepared {
	set: QuestionSet;
	embedding: EmbeddingKind;
	kb: KnowledgeBaseCollection;
	/** Answers the questions' embeddings from memory. */
	queries: DocumentEmbedder;
	/** The set's questions whose answering files are in the corpus, and the IDs of the others. */
	questions: EvalQuestion[];
	skipped: string[];
	documents: number;
	chunks: number;
	subset: boolean;
	ingest: { added: number; seconds: number };
}

export async function prepare(
	store: ChromaKnowledgeStore,
	llm: LlmConfig,
	set: QuestionSet,
	embedding: EmbeddingKind,
): Promise<Prepared> {
	const all = await set.documents();
	// Set a's corpus is whatever npm installed: a question whose README left with a dependency is skipped, and listed.
	const sources = new Set(all.map((d) => d.source));
	const questions = set.questions.filter((q) => q.expected.some((e) => sources.has(e)));
	const skipped = set.questions.filter((q) => !questions.includes(q)).map((q) => q.id);
	const useSubset = embedding.name === 'semantic' && set.name === 'a';
	const documents = useSubset ? subset(all, questions, SEMANTIC_STRIDE) : all;
	const embedder = createEmbeddings(
		offlineModelConfig(llm.baseUrl, { embeddingModel: embedding.model }),
	);
	const kb = await store.open(`eval-${set.name}-${embedding.name}`, { create: true });
	const started = performance.now();
	const { chunks, added } = await ingest(kb, embedder, documents, embedding.batchSize);
	const seconds = Math.round((performance.now() - started) / 100) / 10;
	const texts = questions.map((q) => q.question);
	const vectors = await embedder.embedDocuments(texts);
	return {
		set,
		embedding,
		kb,
		queries: precomputed(new Map(texts.map((t, i) => [t, vectors[i]]))),
		questions,
		skipped,
		documents: documents.length,
		chunks,
		subset: useSubset,
		ingest: { added, seconds },
	};
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Every question in one mode: the results' sources and the query's latency (the first query, which may build the keyword index, run once before). */
async function runMode(prepared: Prepared, options: RetrievalOptions): Promise<ModeRun[]> {
	const query = (q: EvalQuestion) =>
		retrieve(prepared.kb, prepared.queries, q.question, {
			...options,
			topK: TOP_K,
			embedding: { policy },
		});
	await query(prepared.questions[0]);
	const runs: ModeRun[] = [];
	for (const q of prepared.questions) {
		const started = performance.now();
		const results = await query(q);
		runs.push({
			sources: results.map((r) => whole(r.source)),
			latencyMs: performance.now() - started,
		});
	}
	return runs;
}

/** Scores of every mode on one prepared set, through lib/rag/evaluate.ts. */
export async function score(
	prepared: Prepared,
	modes: Record<string, RetrievalOptions>,
): Promise<EvalRun> {
	const runs: Record<string, ModeRun[]> = {};
	for (const [name, options] of Object.entries(modes))
		runs[name] = await runMode(prepared, options);
	const { questions } = prepared;
	const { questions: scored, summary: totals } = evaluateRetrieval(
		questions.map((q) => ({ question: q.question, expected: q.expected.map(whole) })),
		runs,
	);
	const results: EvalRun['modes'] = {};
	for (const [name, m] of Object.entries(totals.modes)) {
		results[name] = {
			hitAt1: round(m.hitAt1),
			hitAt4: round(m.hitAt4),
			hitAt10: round(m.hitAt10),
			mrr: round(m.mrr),
			latencyMs: { p50: round(m.latencyMs!.p50), p95: round(m.latencyMs!.p95) },
			ranks: Object.fromEntries(questions.map((q, i) => [q.id, scored[i][name].rank])),
		};
	}
	return {
		set: prepared.set.name,
		setTitle: prepared.set.title,
		embedding: prepared.embedding.name,
		model: prepared.embedding.model,
		corpus: { documents: prepared.documents, chunks: prepared.chunks, subset: prepared.subset },
		questions: questions.length,
		skipped: prepared.skipped,
		ingest: prepared.ingest,
		modes: results,
		bestMode: totals.bestMode,
	};
}

/** Query latency (ms) per mode on a knowledge base of ≥ `target` chunks: copies of `documents` under other names. */
async function large(
	store: ChromaKnowledgeStore,
	llm: LlmConfig,
	prepared: Prepared,
	target: number,
): Promise<NonNullable<EvalResult['large']>> {
	const documents = await prepared.set.documents();
	const embedder = createEmbeddings(llm);
	const big = await store.open('eval-a-large', { create: true });
	let chunks = 0;
	for (let copy = 0; chunks < target; copy++) {
		const copies = documents.map((d) => ({ ...d, source: `copy-${copy}/${d.source}` }));
		chunks += (await ingest(big, embedder, copies, 100)).chunks;
		process.stderr.write(`eval: large knowledge base at ${chunks} chunks\n`);
	}
	// Heap measured after a full collection (npm run eval starts Node with --expose-gc) before and after.
	const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
	collect();
	const heapBefore = process.memoryUsage().heapUsed;
	const buildStarted = performance.now();
	await keywordIndexFor(big);
	const buildMs = Math.round(performance.now() - buildStarted);
	collect();
	const keywordIndex = {
		buildMs,
		heapMiB: Math.round((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20),
	};
	const latencyMs: Record<string, { p50: number; p95: number }> = {};
	const onBig = { ...prepared, kb: big };
	for (const [name, options] of Object.entries(MODES)) {
		const samples: number[] = [];
		for (let round = 0; round < 2; round++)
			samples.push(...(await runMode(onBig, options(llm))).map((r) => r.latencyMs!));
		const { p50, p95 } = summary(samples);
		latencyMs[name] = { p50, p95 };
	}
	return { chunks, keywordIndex, latencyMs };
}

const listed = (variable: string, all: string[]) =>
	(process.env[variable] ?? all.join(',')).split(',').filter((name) => all.includes(name));

export async function evaluate(): Promise<EvalResult> {
	const sets = listed(
		'EVAL_SETS',
		QUESTION_SETS.map((s) => s.name),
	);
	const embeddings = listed(
		'EVAL_EMBEDDINGS',
		EMBEDDINGS.map((e) => e.name),
	);
	const largeChunks = Number(process.env.EVAL_LARGE_CHUNKS ?? 100_000);
	const [chroma, model] = [
		await startChroma({ dataDir: process.env.EVAL_CHROMA_DIR }),
		new OfflineModelServer(),
	];
	const llm: LlmConfig = offlineModelConfig(await model.start());
	try {
		const store = new ChromaKnowledgeStore({ url: chroma.url }, { policy });
		const candidates = !!process.env.EVAL_CANDIDATES;
		const modes = candidates
			? candidateModes()
			: Object.fromEntries(Object.entries(MODES).map(([name, options]) => [name, options(llm)]));
		const runs: EvalRun[] = [];
		let largeResult: EvalResult['large'];
		for (const embedding of EMBEDDINGS.filter((e) => embeddings.includes(e.name)))
			for (const set of QUESTION_SETS.filter((s) => sets.includes(s.name))) {
				const prepared = await prepare(store, llm, set, embedding);
				runs.push(await score(prepared, modes));
				process.stderr.write(`eval: set ${set.name}, ${embedding.name} embeddings done\n`);
				if (set.name === 'a' && embedding.name === 'hashing' && largeChunks > 0 && !candidates)
					largeResult = await large(store, llm, prepared, largeChunks);
			}
		return { topK: TOP_K, runs, ...(largeResult ? { large: largeResult } : {}) };
	} finally {
		await Promise.all([chroma.stop(), model.stop()]);
	}
}

async function main() {
	const started = performance.now();
	const result = await evaluate();
	const machine = {
		cpus: cpus().length,
		cpu: cpus()[0]?.model,
		memoryGiB: Math.round(totalmem() / 2 ** 30),
		node: process.version,
	};
	const dir = join(__dirname, 'results');
	mkdirSync(dir, { recursive: true });
	const out = {
		at: new Date().toISOString(),
		machine,
		durationS: Math.round((performance.now() - started) / 1000),
		result,
	};
	const file = process.env.EVAL_CANDIDATES ? 'eval-candidates.json' : 'eval.json';
	writeFileSync(join(dir, file), `${JSON.stringify(out, null, 2)}\n`);
	console.log(evalTables(result).join('\n'));
}

if (require.main === module) {
	main().catch((error: Error) => {
		console.error(error.stack ?? error.message);
		process.exit(1);
	});
}
