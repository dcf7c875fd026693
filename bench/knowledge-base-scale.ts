/**
 * Knowledge Base query latency at scale, in-process against a local Chroma server: the READMEs of this project's npm
 * dependencies ingested BENCH_KB_SCALE_COPIES times (default 10, each copy its own sources) in 400-character chunks
 * — about 100 000 chunks — then query p50/p95 (vector top-4; hybrid top-4 with the keyword index warm, its build
 * timed apart) and the resident memory of the Chroma server. Embeddings from the offline model server.
 */
import {
	ChromaKnowledgeStore,
	ingestDocuments,
	type LoadedDocument,
	type RetrievalOptions,
} from '../lib/rag';
import { readmes } from './knowledge-base-vs-n8n';
import { firstHybridQueryMs, localRag, queryLatencies } from './local-rag';
import { rssBytes } from './stats';

export async function knowledgeBaseScale(
	copies = Number(process.env.BENCH_KB_SCALE_COPIES ?? 10),
	queries = Number(process.env.BENCH_KB_SCALE_QUERIES ?? 200),
) {
	const rag = await localRag();
	const { chroma, policy, embeddings } = rag;
	try {
		const originals = readmes(10_000);
		const kb = await new ChromaKnowledgeStore({ url: chroma.url }, { policy }).open('bench-scale', {
			create: true,
		});
		const options = { chunkSize: 400, chunkOverlap: 40, embedding: { policy, batchSize: 100 } };
		const started = performance.now();
		let chunks = 0;
		for (let copy = 0; copy < copies; copy++) {
			const documents: LoadedDocument[] = originals.map((d) => ({
				source: `copy-${copy}/${d.source}`,
				text: d.text,
				format: 'markdown',
				metadata: {},
			}));
			for (let i = 0; i < documents.length; i += 50)
				chunks += (await ingestDocuments(kb, embeddings, documents.slice(i, i + 50), options))
					.added;
		}
		const ingestMs = performance.now() - started;

		const questions = Array.from({ length: queries }, (_, i) =>
			originals[Math.floor((i * originals.length) / queries)].text
				.replace(/[#*`>[\]()_|-]+/g, ' ')
				.slice(0, 200),
		);
		const latencies = (retrieval: RetrievalOptions) =>
			queryLatencies(rag, kb, questions, retrieval);
		const vector = await latencies({ mode: 'vector' });
		const heapBefore = process.memoryUsage().heapUsed;
		const keywordIndexBuildMs = await firstHybridQueryMs(rag, kb, questions[0]);
		const keywordIndexHeapMiB = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1048576);
		const hybrid = await latencies({ mode: 'hybrid' });
		return {
			corpus: { copies, documents: originals.length * copies, chunks, chunkSize: 400 },
			ingest: { ms: Math.round(ingestMs), chunksPerSecond: Math.round((chunks / ingestMs) * 1000) },
			queryMs: { vector, hybrid },
			keywordIndex: { buildMs: keywordIndexBuildMs, heapMiB: keywordIndexHeapMiB },
			chromaServerRssMiB: chroma.process.pid
				? Math.round(rssBytes(chroma.process.pid) / 1048576)
				: null,
		};
	} finally {
		await rag.stop();
	}
}
