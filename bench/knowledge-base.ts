/**
 * Knowledge Base at ≥ 10 000 chunks on a local Chroma server, embeddings from the offline model server (so the
 * figures are ours + Chroma's, not a model's): ingest throughput (chunks/s), re-ingest of the unchanged corpus
 * (time, embedding calls), and query latency p50/p95 (vector top-4, vector top-4 with MMR over 20 candidates, hybrid
 * top-4 with the keyword index warm; its build on the first hybrid query timed apart).
 * Corpus: the Markdown READMEs of this project's npm dependencies (node_modules/{*,@*\/*}/README.md).
 */
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
	ChromaKnowledgeStore,
	ingestDocuments,
	loadDocument,
	type LoadedDocument,
	type RetrievalOptions,
} from '../lib/rag';
import { firstHybridQueryMs, localRag, queryLatencies } from './local-rag';

const ROOT = join(__dirname, '..');
const DOCUMENTS_PER_BATCH = 50;

export async function knowledgeBase(
	chunkSize = Number(process.env.BENCH_KB_CHUNK_SIZE ?? 400),
	queries = Number(process.env.BENCH_KB_QUERIES ?? 300),
) {
	const rag = await localRag();
	const { chroma, model, policy, embeddings } = rag;
	try {
		const files = globSync('node_modules/{*,@*/*}/README.md', { cwd: ROOT }).sort();
		const documents: LoadedDocument[] = [];
		for (const file of files) {
			const loaded = await loadDocument({
				source: file.slice('node_modules/'.length),
				content: readFileSync(join(ROOT, file)),
				fileName: file,
			}).catch(() => undefined);
			if (loaded) documents.push(loaded);
		}
		const kb = await new ChromaKnowledgeStore({ url: chroma.url }, { policy }).open(
			'bench-readmes',
			{ create: true },
		);
		const options = {
			chunkSize,
			chunkOverlap: Math.round(chunkSize / 10),
			embedding: { policy, batchSize: 100 },
		};

		const ingestAll = async () => {
			const started = performance.now();
			const totals = { added: 0, unchanged: 0, removed: 0, embeddingCalls: 0, upsertRequests: 0 };
			for (let i = 0; i < documents.length; i += DOCUMENTS_PER_BATCH) {
				const result = await ingestDocuments(
					kb,
					embeddings,
					documents.slice(i, i + DOCUMENTS_PER_BATCH),
					options,
				);
				for (const key of Object.keys(totals) as Array<keyof typeof totals>)
					totals[key] += result[key];
			}
			return { ...totals, ms: Math.round(performance.now() - started) };
		};

		model.reset();
		const first = await ingestAll();
		const chunks = first.added;
		if (chunks < 10_000)
			throw new Error(`bench corpus has only ${chunks} chunks; lower BENCH_KB_CHUNK_SIZE`);
		model.reset();
		const again = await ingestAll();
		const embeddingRequestsSeen = model.requestsTo('embeddings').length;

		// Queries: the first sentence of evenly spaced documents (real text, spread over the corpus).
		const questions = Array.from({ length: queries }, (_, i) => {
			const text = documents[Math.floor((i * documents.length) / queries)].text.replace(
				/[#*`>[\]()_|-]+/g,
				' ',
			);
			return (
				text
					.split(/(?<=[.!?])\s+/)
					.find((s) => s.trim().split(/\s+/).length >= 4)
					?.slice(0, 200) ?? text.slice(0, 200)
			);
		});
		const latencies = (retrieval: RetrievalOptions) =>
			queryLatencies(rag, kb, questions, retrieval);
		const query = await latencies({ mode: 'vector' });
		const queryMmr = await latencies({ mode: 'vector', mmr: { lambda: 0.5, fetchK: 20 } });
		const firstHybridMs = await firstHybridQueryMs(rag, kb, questions[0]);
		const queryHybrid = await latencies({ mode: 'hybrid' });

		return {
			corpus: {
				documents: documents.length,
				chunks,
				chunkSize,
				chunkOverlap: options.chunkOverlap,
				unit: 'characters',
				embeddingDimensions: 256,
			},
			ingest: {
				ms: first.ms,
				chunksPerSecond: Math.round((chunks / first.ms) * 1000),
				embeddingCalls: first.embeddingCalls,
				upsertRequests: first.upsertRequests,
			},
			reingestUnchanged: {
				ms: again.ms,
				unchanged: again.unchanged,
				added: again.added,
				removed: again.removed,
				embeddingCalls: again.embeddingCalls,
				embeddingRequestsSeen,
			},
			queryMs: { unit: 'ms per query, vector search (embed query + Chroma top-4)', ...query },
			queryHybridMs: {
				unit: 'ms per query, hybrid search (embed query + Chroma top-40 + BM25 top-40 + fusion to 4), keyword index warm',
				...queryHybrid,
			},
			firstHybridQueryMs: firstHybridMs,
			queryMmrMs: {
				unit: 'ms per query, vector search (embed query + Chroma top-20 with vectors + MMR to 4)',
				...queryMmr,
			},
		};
	} finally {
		await rag.stop();
	}
}
