/**
 * `npm run eval`: retrieval quality and latency of the Knowledge Base's search modes on the corpus `npm start`
 * ingests (the Markdown READMEs of the installed npm packages, sources named like "ioredis/README.md"), with the
 * question set in bench/eval/questions.json: each question was written by reading one README, which is the file
 * that answers it. For Vector, Keyword, Hybrid and Hybrid + rerank (the offline server's /rerank), top 10:
 * hit@1, hit@4, hit@10 (the answering file's first chunk ranked within k) and MRR (1 / that rank, 0 beyond 10).
 * Latency: one query (top 10) without the embedding call (query vectors are computed beforehand), p50/p95, at the
 * corpus's size and on a knowledge base of ≥ EVAL_LARGE_CHUNKS chunks (default 100 000; 0 skips it) made of copies
 * of the corpus under other source names.
 * Real Chroma (a private server), embeddings from the offline model server. Writes bench/results/eval.json.
 */
import { globSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { createEmbeddings, rerankWithApi, type DocumentEmbedder, type LlmConfig } from '../lib/llm';
import {
	ChromaKnowledgeStore,
	ingestDocuments,
	keywordIndexFor,
	loadDocument,
	retrieve,
	type KnowledgeBaseCollection,
	type LoadedDocument,
	type RetrievalOptions,
} from '../lib/rag';
import { NoRetryPolicy } from '../lib/retry';
import { startChroma } from '../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../stack/model-server';
import { evalTable, type EvalResult } from './report';
import { summary } from './stats';

const ROOT = join(__dirname, '..');
const TOP_K = 10;
const policy = new NoRetryPolicy();

interface Question {
	id: string;
	question: string;
	file: string;
	style: string;
}

type ModeName = 'vector' | 'keyword' | 'hybrid' | 'hybrid+rerank';
const MODES: ModeName[] = ['vector', 'keyword', 'hybrid', 'hybrid+rerank'];

function modeOptions(mode: ModeName, llm: LlmConfig): RetrievalOptions {
	if (mode !== 'hybrid+rerank') return { mode };
	return {
		mode: 'hybrid',
		rerank: {
			reranker: {
				rerank: (query, documents) =>
					rerankWithApi(llm, 'offline-reranker', query, documents, { policy }),
			},
			candidates: 20,
		},
	};
}

/** The READMEs npm start ingests, loaded as the Knowledge Base node loads them. */
async function corpus(): Promise<LoadedDocument[]> {
	const files = globSync('{*,@*/*}/README.md', { cwd: join(ROOT, 'node_modules') }).sort();
	const documents: LoadedDocument[] = [];
	for (const file of files) {
		const content = readFileSync(join(ROOT, 'node_modules', file));
		const loaded = await loadDocument({ source: file, content, fileName: file }).catch(
			() => undefined,
		);
		if (loaded) documents.push(loaded);
	}
	return documents;
}

async function ingest(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	documents: LoadedDocument[],
) {
	let chunks = 0;
	for (let i = 0; i < documents.length; i += 50) {
		const result = await ingestDocuments(kb, embedder, documents.slice(i, i + 50), {
			embedding: { policy, batchSize: 100 },
		});
		chunks += result.added + result.unchanged;
	}
	return chunks;
}

/** An embedder that answers from vectors computed beforehand: retrieval timings then leave the embedding call out. */
function precomputed(vectors: Map<string, number[]>): DocumentEmbedder {
	return { embedDocuments: async (texts) => texts.map((t) => vectors.get(t)!) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Quality of one mode: per question the rank of the answering file's first chunk (0 = not in the top 10). */
async function quality(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	questions: Question[],
	options: RetrievalOptions,
) {
	const ranks: Record<string, number> = {};
	for (const q of questions) {
		const results = await retrieve(kb, embedder, q.question, {
			...options,
			topK: TOP_K,
			embedding: { policy },
		});
		ranks[q.id] = results.findIndex((r) => r.source === q.file) + 1;
	}
	const values = Object.values(ranks);
	const hit = (k: number) => round(values.filter((r) => r > 0 && r <= k).length / values.length);
	return {
		hitAt1: hit(1),
		hitAt4: hit(4),
		hitAt10: hit(10),
		mrr: round(values.reduce((sum, r) => sum + (r ? 1 / r : 0), 0) / values.length),
		ranks,
	};
}

/** Query latency of one mode, ms: the first query (which builds the keyword index) apart, then `rounds` passes. */
async function latency(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	questions: Question[],
	options: RetrievalOptions,
	rounds = 3,
) {
	const time = async (q: Question) => {
		const started = performance.now();
		await retrieve(kb, embedder, q.question, { ...options, topK: TOP_K, embedding: { policy } });
		return performance.now() - started;
	};
	const firstQueryMs = round(await time(questions[0]));
	const samples: number[] = [];
	for (let r = 0; r < rounds; r++) for (const q of questions) samples.push(await time(q));
	return { firstQueryMs, ...summary(samples) };
}

export async function evaluate(): Promise<EvalResult> {
	const questions = JSON.parse(
		readFileSync(join(__dirname, 'eval', 'questions.json'), 'utf8'),
	) as Question[];
	const largeChunks = Number(process.env.EVAL_LARGE_CHUNKS ?? 100_000);
	const [chroma, model] = [await startChroma(), new OfflineModelServer()];
	const llm: LlmConfig = offlineModelConfig(await model.start());
	try {
		const embedder = createEmbeddings(llm);
		const store = new ChromaKnowledgeStore({ url: chroma.url }, { policy });
		const documents = await corpus();
		const missing = questions.filter((q) => !documents.some((d) => d.source === q.file));
		if (missing.length)
			throw new Error(
				`Answering files not in the corpus: ${missing.map((q) => q.file).join(', ')}`,
			);

		const kb = await store.open('eval-readmes', { create: true });
		const ingestStarted = performance.now();
		const chunks = await ingest(kb, embedder, documents);
		const ingestMs = performance.now() - ingestStarted;
		const vectors = new Map<string, number[]>();
		const queryVectors = await embedder.embedDocuments(questions.map((q) => q.question));
		questions.forEach((q, i) => vectors.set(q.question, queryVectors[i]));
		const fixed = precomputed(vectors);

		const modes: EvalResult['modes'] = {};
		for (const mode of MODES) {
			const options = modeOptions(mode, llm);
			const latencyMs = await latency(kb, fixed, questions, options);
			modes[mode] = { ...(await quality(kb, fixed, questions, options)), latencyMs };
			process.stderr.write(`eval: ${mode} done\n`);
		}

		let large: EvalResult['large'];
		if (largeChunks > 0) {
			const big = await store.open('eval-readmes-large', { create: true });
			let total = 0;
			for (let copy = 0; total < largeChunks; copy++) {
				const copies = documents.map((d) => ({ ...d, source: `copy-${copy}/${d.source}` }));
				total += await ingest(big, embedder, copies);
				process.stderr.write(`eval: large knowledge base at ${total} chunks\n`);
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
			const perMode: NonNullable<EvalResult['large']>['latencyMs'] = {};
			for (const mode of MODES)
				perMode[mode] = await latency(big, fixed, questions, modeOptions(mode, llm), 2);
			large = { chunks: total, keywordIndex, latencyMs: perMode };
		}

		return {
			corpus: {
				documents: documents.length,
				chunks,
				ingestChunksPerSecond: Math.round(chunks / (ingestMs / 1000)),
			},
			questions: {
				count: questions.length,
				files: new Set(questions.map((q) => q.file)).size,
				topK: TOP_K,
			},
			modes,
			...(large ? { large } : {}),
		};
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
	writeFileSync(join(dir, 'eval.json'), `${JSON.stringify(out, null, 2)}\n`);
	console.log(evalTable(result).join('\n'));
	console.log(
		JSON.stringify({
			corpus: result.corpus,
			questions: result.questions,
			keywordIndex: result.large?.keywordIndex,
		}),
	);
}

if (require.main === module) {
	main().catch((error: Error) => {
		console.error(error.stack ?? error.message);
		process.exit(1);
	});
}
