/**
 * A fresh worker's hybrid queries on a knowledge base whose keyword index is shared in Redis, run as its own process
 * by knowledge-base-scale.ts (`tsx bench/knowledge-base-worker.ts <input.json>`), so its first query and its memory
 * are a new process's. It first runs every question in Vector mode, so what retrieval itself takes (modules, Chroma's
 * answers, V8's heap growth) is in the baseline, then in Hybrid mode. Prints one JSON line: firstQueryMs (its first
 * hybrid query: the first keyword search), queryMs (latency summary of the rest), rssBeforeMiB (after the vector
 * queries), addedRssMiB (after the hybrid queries, minus before): the memory the keyword search added.
 *
 * The query embeddings come precomputed in the input, so the times exclude the embedding call.
 */
import { readFileSync } from 'node:fs';

import Redis from 'ioredis';

import { ChromaKnowledgeStore, retrieve } from '../lib/rag';
import { NoRetryPolicy } from '../lib/retry';
import { summary } from './stats';

export interface WorkerInput {
	chromaUrl: string;
	knowledgeBase: string;
	redis: { host: string; port: number };
	questions: string[];
	/** The questions' embeddings, in order. */
	vectors: number[][];
}

async function main(input: WorkerInput) {
	const redis = new Redis(input.redis);
	const policy = new NoRetryPolicy();
	const vectorOf = new Map(input.questions.map((q, i) => [q, input.vectors[i]]));
	const embedder = {
		embedDocuments: async (texts: string[]) => texts.map((t) => vectorOf.get(t)!),
	};
	const store = new ChromaKnowledgeStore(
		{ url: input.chromaUrl },
		{ policy, keywordIndex: { redis } },
	);
	const kb = await store.open(input.knowledgeBase);
	const query = async (question: string, mode: 'vector' | 'hybrid' = 'hybrid') => {
		const started = performance.now();
		await retrieve(kb, embedder, question, { topK: 4, mode, embedding: { policy } });
		return performance.now() - started;
	};
	for (const question of input.questions) await query(question, 'vector');
	const rssBefore = process.memoryUsage().rss;
	const firstQueryMs = await query(input.questions[0]);
	const samples: number[] = [];
	for (const question of input.questions.slice(1)) samples.push(await query(question));
	const addedRss = process.memoryUsage().rss - rssBefore;
	redis.disconnect();
	return {
		firstQueryMs: Math.round(firstQueryMs),
		queryMs: summary(samples),
		rssBeforeMiB: Math.round(rssBefore / 1048576),
		addedRssMiB: Math.round(addedRss / 1048576),
	};
}

void main(JSON.parse(readFileSync(process.argv[2], 'utf8')) as WorkerInput).then(
	(result) => console.log(JSON.stringify(result)),
	(error) => {
		console.error(error);
		process.exitCode = 1;
	},
);
