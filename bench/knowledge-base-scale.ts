/**
 * Knowledge Base query latency at scale, in-process against a local Chroma server, at each of
 * BENCH_KB_SCALE_CHUNKS (default 100000,1000000) chunks: query p50/p95 (vector top-4; hybrid top-4 at the smallest
 * level, keyword index warm, its build timed apart) and the resident memory of the Chroma server holding that one
 * collection (the server is restarted before each level).
 *
 * The corpus: the READMEs of this project's npm dependencies, ingested once through ingestDocuments in 400-character
 * chunks (the seed, its ingest timed), then copied until a level's count is reached: each copy has its own ids and
 * sources, the seed chunk's text and metadata, and the seed's embedding with a little Gaussian noise (σ 0.01 per
 * dimension), so no two vectors are equal. Chroma took ~700 such chunks/s on 2 cores (with their texts, which it
 * indexes for full-text search), so 1 000 000 chunks took ~25 minutes to write: the collections are kept in
 * BENCH_KB_SCALE_DIR (default ~/.cache/openagents/bench-kb-scale) and reused by later runs; `build` says what this
 * run wrote. Embeddings of the seed and the questions come from the offline model server.
 *
 * The keyword index shared in Redis (sharedKeywordIndex, every level): built from Chroma once (buildMs), what it
 * holds in Redis (redisMiB), a fresh worker process's first hybrid query and the rest without the embedding call
 * (knowledge-base-worker.ts) with the RSS they added, and the sync after one more chunk is written.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import {
	ChromaKnowledgeStore,
	ingestDocuments,
	keywordIndexFor,
	SharedKeywordIndex,
	type KnowledgeBaseCollection,
	type LoadedDocument,
	type RetrievalOptions,
	type StoredChunk,
} from '../lib/rag';
import type { RetryPolicy } from '../lib/retry';
import { startRedis, type PrivateRedis } from '../stack/redis';
import type { WorkerInput } from './knowledge-base-worker';
import { readmes } from './knowledge-base-vs-n8n';
import { firstHybridQueryMs, localRag, queryLatencies } from './local-rag';
import { rssBytes } from './stats';

const CHUNK_SIZE = 400;
/** Records per Chroma write when copying: Chroma's largest batch on this server is 5 461. */
const COPY_BATCH = 5000;
/** Bump when the corpus or its chunking changes: cached collections of another version are not reused. */
const CORPUS_VERSION = 'v1';
/** The largest level at which the hybrid query (an in-process keyword index over every chunk's text) is timed. */
const HYBRID_MAX_CHUNKS = 200_000;

/** Redis's used_memory from INFO memory, bytes. */
function usedMemory(info: string): number {
	return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * The keyword index shared in Redis at one level: its build from Chroma (done once for every process), what it holds
 * in Redis, and a fresh worker process's hybrid queries (first query, latency without the embedding call, added RSS).
 * Each level's index is alone in the bench's own Redis server.
 */
async function sharedIndexAt(
	chromaUrl: string,
	policy: RetryPolicy,
	name: string,
	server: PrivateRedis,
	questions: string[],
	vectors: number[][],
	oneMore: StoredChunk,
) {
	const redis = server.client();
	try {
		await redis.flushall();
		const before = usedMemory(await redis.info('memory'));
		const store = new ChromaKnowledgeStore({ url: chromaUrl }, { policy, keywordIndex: { redis } });
		const started = performance.now();
		const index = (await keywordIndexFor(await store.open(name))) as SharedKeywordIndex;
		const buildMs = Math.round(performance.now() - started);
		const redisMiB = Math.round((usedMemory(await redis.info('memory')) - before) / 1048576);
		const input: WorkerInput = {
			chromaUrl,
			knowledgeBase: name,
			redis: { host: server.host, port: server.port },
			questions,
			vectors,
		};
		const file = join(tmpdir(), `openagents-kb-worker-${process.pid}.json`);
		writeFileSync(file, JSON.stringify(input));
		const { stdout } = await promisify(execFile)(
			join('node_modules', '.bin', 'tsx'),
			[join('bench', 'knowledge-base-worker.ts'), file],
			{ maxBuffer: 1 << 20 },
		);
		const chunks = await index.size();
		// One chunk written (a new revision): the next query brings the shared index up to date from Chroma, once.
		const record = { ...oneMore, id: 'bench-one-more', embedding: oneMore.embedding! };
		await (await store.open(name)).upsert([record]);
		const syncStarted = performance.now();
		await keywordIndexFor(await store.open(name));
		const syncAfterOneWriteMs = Math.round(performance.now() - syncStarted);
		await (await store.open(name)).deleteIds([record.id]);
		return {
			chunks,
			buildMs,
			redisMiB,
			freshWorker: JSON.parse(stdout),
			syncAfterOneWriteMs,
		};
	} finally {
		redis.disconnect();
	}
}

/** Box–Muller standard normal sample. */
function gaussian(): number {
	return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/** Adds noisy copies of the seed to `kb` until it holds `target` chunks; ms spent and chunks written. */
async function fillTo(kb: KnowledgeBaseCollection, seed: StoredChunk[], target: number) {
	const started = performance.now();
	let count = await kb.count();
	const written = target - count;
	while (count < target) {
		const n = Math.min(COPY_BATCH, target - count);
		const records = Array.from({ length: n }, (_, k) => {
			const position = count + k;
			const chunk = seed[position % seed.length];
			const copy = Math.floor(position / seed.length);
			return {
				id: `copy-${copy}-${chunk.id}`,
				text: chunk.text,
				metadata: { ...chunk.metadata, source: `copy-${copy}/${String(chunk.metadata.source)}` },
				embedding: chunk.embedding!.map((x) => x + 0.01 * gaussian()),
			};
		});
		await kb.upsert(records, COPY_BATCH, { markChanged: false });
		count += n;
	}
	await kb.markChanged();
	return { ms: Math.round(performance.now() - started), chunksWritten: Math.max(0, written) };
}

export async function knowledgeBaseScale(
	levels = (process.env.BENCH_KB_SCALE_CHUNKS ?? '100000,1000000').split(',').map(Number),
	queries = Number(process.env.BENCH_KB_SCALE_QUERIES ?? 200),
	dataDir = process.env.BENCH_KB_SCALE_DIR ??
		join(homedir(), '.cache', 'openagents', 'bench-kb-scale'),
) {
	const [rag, redis] = await Promise.all([localRag({ dataDir }), startRedis()]);
	try {
		const originals = readmes(10_000);
		const options = { chunkSize: CHUNK_SIZE, chunkOverlap: 40, embedding: { policy: rag.policy } };
		const store = () => new ChromaKnowledgeStore({ url: rag.chroma.url }, { policy: rag.policy });

		// The seed: the READMEs ingested once (a cached seed is re-ingested as a no-op, which checks it is complete).
		const seedKb = await store().open(`bench-scale-seed-${CORPUS_VERSION}`, { create: true });
		const documents: LoadedDocument[] = originals.map((d) => ({
			source: d.source,
			text: d.text,
			format: 'markdown',
			metadata: {},
		}));
		const ingestStarted = performance.now();
		let added = 0;
		for (let i = 0; i < documents.length; i += 50)
			added += (await ingestDocuments(seedKb, rag.embeddings, documents.slice(i, i + 50), options))
				.added;
		const ingestMs = performance.now() - ingestStarted;
		const seed = await seedKb.getByIds(await seedKb.allIds(), {
			documents: true,
			embeddings: true,
		});

		const questions = Array.from({ length: queries }, (_, i) =>
			originals[Math.floor((i * originals.length) / queries)].text
				.replace(/[#*`>[\]()_|-]+/g, ' ')
				.slice(0, 200),
		);
		const vectors = await rag.embeddings.embedDocuments(questions);
		const results = [];
		for (const chunks of [...levels].sort((a, b) => a - b)) {
			const name = `bench-scale-${CORPUS_VERSION}-${chunks}`;
			const build = await fillTo(await store().open(name, { create: true }), seed, chunks);
			// A fresh server holding only this collection, so its memory is this level's.
			await rag.restartChroma();
			const kb = await store().open(name);
			const latencies = (retrieval: RetrievalOptions) =>
				queryLatencies(rag, kb, questions, retrieval);
			const vector = await latencies({ mode: 'vector' });
			let hybrid;
			if (chunks <= HYBRID_MAX_CHUNKS) {
				const heapBefore = process.memoryUsage().heapUsed;
				const buildMs = await firstHybridQueryMs(rag, kb, questions[0]);
				const heapMiB = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1048576);
				hybrid = {
					keywordIndex: { buildMs, heapMiB },
					queryMs: await latencies({ mode: 'hybrid' }),
				};
			}
			const sharedKeywordIndex = await sharedIndexAt(
				rag.chroma.url,
				rag.policy,
				name,
				redis,
				questions,
				vectors,
				seed[0],
			);
			results.push({
				chunks: await kb.count(),
				build,
				queryMs: { vector, ...(hybrid ? { hybrid: hybrid.queryMs } : {}) },
				...(hybrid ? { keywordIndex: hybrid.keywordIndex } : {}),
				sharedKeywordIndex,
				chromaServerRssMiB: Math.round(rssBytes(rag.chroma.process.pid!) / 1048576),
			});
		}
		return {
			setup: `in-process, Chroma 1.0 server on this machine; seed: ${originals.length} READMEs in ${CHUNK_SIZE}-character chunks (${seed.length} chunks), copied with noisy embeddings (256 dimensions) up to each level; top-4 queries of ${queries} questions (README openings), one at a time; the per-process keyword index only up to ${HYBRID_MAX_CHUNKS} chunks; the shared keyword index (Redis 7, the bench's own server) at every level, its queries from a fresh worker process with the query embeddings precomputed (times exclude the embedding call)`,
			seedIngest: {
				chunks: seed.length,
				added,
				ms: Math.round(ingestMs),
				...(added ? { chunksPerSecond: Math.round((added / ingestMs) * 1000) } : {}),
			},
			levels: results,
		};
	} finally {
		await Promise.all([rag.stop(), redis.stop()]);
	}
}
