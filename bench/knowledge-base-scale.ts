/**
 * Knowledge Base query latency at scale, in-process against a local Chroma server: the READMEs of this project's npm
 * dependencies ingested BENCH_KB_SCALE_COPIES times (default 10, each copy its own sources) in 400-character chunks
 * — about 100 000 chunks — then query p50/p95 (vector top-4; hybrid top-4 with the keyword index warm, its build
 * timed apart) and the resident memory of the Chroma server. Embeddings from the offline model server.
 */
import { readFileSync } from 'node:fs';

import { createEmbeddings } from '../lib/llm';
import {
	ChromaKnowledgeStore,
	ingestDocuments,
	retrieve,
	type LoadedDocument,
	type RetrievalOptions,
} from '../lib/rag';
import { NoRetryPolicy } from '../lib/retry';
import { startChroma } from '../stack/chroma';
import { OfflineModelServer } from '../stack/model-server';
import { readmes } from './knowledge-base-vs-n8n';
import { summary } from './stats';

function rssMiB(pid: number | undefined): number | null {
	if (!pid) return null;
	const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return match ? Math.round(Number(match[1]) / 1024) : null;
}

export async function knowledgeBaseScale(
	copies = Number(process.env.BENCH_KB_SCALE_COPIES ?? 10),
	queries = Number(process.env.BENCH_KB_SCALE_QUERIES ?? 200),
) {
	const [chroma, model] = [await startChroma(), new OfflineModelServer()];
	const baseUrl = await model.start();
	const policy = new NoRetryPolicy();
	const embeddings = createEmbeddings({
		baseUrl,
		apiKey: '',
		chatModel: 'offline-chat',
		embeddingModel: 'offline-embedding',
	});
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
		const latencies = async (retrieval: RetrievalOptions) => {
			const samples: number[] = [];
			for (const question of questions) {
				const t = performance.now();
				await retrieve(kb, embeddings, question, { topK: 4, ...retrieval, embedding: { policy } });
				samples.push(performance.now() - t);
			}
			return summary(samples);
		};
		const vector = await latencies({ mode: 'vector' });
		const heapBefore = process.memoryUsage().heapUsed;
		const buildStarted = performance.now();
		await retrieve(kb, embeddings, questions[0], {
			topK: 4,
			mode: 'hybrid',
			embedding: { policy },
		});
		const keywordIndexBuildMs = Math.round(performance.now() - buildStarted);
		const keywordIndexHeapMiB = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1048576);
		const hybrid = await latencies({ mode: 'hybrid' });
		return {
			corpus: { copies, documents: originals.length * copies, chunks, chunkSize: 400 },
			ingest: { ms: Math.round(ingestMs), chunksPerSecond: Math.round((chunks / ingestMs) * 1000) },
			queryMs: { vector, hybrid },
			keywordIndex: { buildMs: keywordIndexBuildMs, heapMiB: keywordIndexHeapMiB },
			chromaServerRssMiB: rssMiB(chroma.process.pid),
		};
	} finally {
		await Promise.all([chroma.stop(), model.stop()]);
	}
}
