/**
 * The floor under every figure above, on the same servers: what the parts cost with nothing of ours on top.
 *  - Chroma: a raw top-4 query (chromadb client, query embedding given) on a collection of 10 000 random
 *    256-dimension vectors;
 *  - Redis: raw GET / SET of a small JSON value (ioredis);
 *  - Postgres: a raw one-row INSERT, committed (what every execution n8n creates costs at least, several times);
 *  - n8n in queue mode, webhook → Set: executions/s of BENCH_FLOOR_JOBS (default 500) requests sent at once (webhook responding at once,
 *    executions counted in n8n's database, as the agent jobs in jobs.ts), and latency with the webhook
 *    answering when the Set node finishes, 8 requests in flight.
 */
import { randomUUID } from 'node:crypto';

import { ChromaClient } from 'chromadb';
import Redis from 'ioredis';
import { Pool } from 'pg';

import { postgresFromEnv, redisFromEnv } from '../stack/services';
import { webhookNode, whereNode } from '../stack/n8n/workflow-nodes';
import {
	activeWorkflow,
	benchCluster,
	chain,
	WORKER_CONCURRENCY,
	WORKERS,
	type BenchCluster,
} from './cluster';
import { submitAtOnce } from './executions';
import { pool, postJson } from './load';

const DIMENSIONS = 256;

/** A random vector of the benchmarks' embedding size (256), components uniform in [-1, 1). */
export function randomVector(): number[] {
	return Array.from({ length: DIMENSIONS }, () => Math.random() * 2 - 1);
}

export async function floors(
	vectors = Number(process.env.BENCH_FLOOR_VECTORS ?? 10_000),
	operations = Number(process.env.BENCH_FLOOR_OPERATIONS ?? 1000),
	requests = Number(process.env.BENCH_FLOOR_REQUESTS ?? 200),
	jobs = Number(process.env.BENCH_FLOOR_JOBS ?? 500),
) {
	const bench = await benchCluster();

	const chroma = new ChromaClient({ host: bench.chroma.host, port: bench.chroma.port });
	const name = `bench-floor-${randomUUID().slice(0, 8)}`;
	const collection = await chroma.createCollection({
		name,
		metadata: { 'hnsw:space': 'cosine' },
		embeddingFunction: null,
	});
	let chromaQuery;
	try {
		for (let i = 0; i < vectors; i += 500) {
			const n = Math.min(500, vectors - i);
			await collection.add({
				ids: Array.from({ length: n }, (_, k) => `v${i + k}`),
				embeddings: Array.from({ length: n }, randomVector),
				documents: Array.from({ length: n }, (_, k) => `document ${i + k}`),
			});
		}
		const latencyMs = (
			await pool(Math.min(operations, 500), 1, async () => {
				const result = await collection.query({ queryEmbeddings: [randomVector()], nResults: 4 });
				if (result.ids[0].length !== 4)
					throw new Error('raw Chroma query returned fewer than 4 results');
			})
		).latencyMs;
		chromaQuery = {
			collection: `${vectors} vectors of ${DIMENSIONS} dimensions, cosine`,
			...latencyMs,
		};
	} finally {
		await chroma.deleteCollection({ name });
	}

	const redis = new Redis(redisFromEnv());
	const key = `${bench.redisPrefix}:floor`;
	const value = JSON.stringify({
		text: 'a memory value of ordinary size',
		n: 42,
		tags: ['a', 'b', 'c'],
	});
	let redisFigures;
	try {
		const set = await pool(operations, 1, () => redis.set(key, value));
		const get = await pool(operations, 1, async () => {
			if ((await redis.get(key)) !== value) throw new Error('raw Redis GET returned another value');
		});
		redisFigures = { setMs: set.latencyMs, getMs: get.latencyMs };
	} finally {
		await redis.del(key);
		redis.disconnect();
	}

	const db = new Pool({ ...postgresFromEnv(), database: bench.cluster.database, max: 1 });
	try {
		return {
			chromaQueryTop4Ms: chromaQuery,
			redis: redisFigures,
			postgresInsertCommitMs: await postgresInsert(db, value, operations),
			n8nWebhookToSet: await webhookToSet(bench, db, requests, jobs),
		};
	} finally {
		await db.end();
	}
}

/** A committed one-row insert into a logged table (a temporary one skips the write-ahead log), dropped afterwards. */
async function postgresInsert(db: Pool, value: string, operations: number) {
	const table = `bench_floor_${randomUUID().slice(0, 8)}`;
	await db.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, data jsonb NOT NULL)`);
	try {
		return (
			await pool(operations, 1, () => db.query(`INSERT INTO ${table} (data) VALUES ($1)`, [value]))
		).latencyMs;
	} finally {
		await db.query(`DROP TABLE ${table}`);
	}
}

/**
 * Activates n8n's cheapest answered execution, webhook → Set answering on the Set node; returns a call that posts to
 * it and checks that a worker ran it.
 */
export async function webhookToSetCall(bench: BenchCluster, label: string) {
	const path = `bench-${label}-${randomUUID()}`;
	await activeWorkflow(
		bench.client,
		`${label} (webhook → Set)`,
		path,
		[webhookNode(path), whereNode([220, 0])],
		chain('Webhook', 'Where'),
	);
	return () =>
		postJson<{ processName?: string }>(bench.client, path, {}, (r) =>
			String(r.processName).startsWith('worker-'),
		);
}

/** n8n's own cost per execution: webhook → Set, sent all at once (respond at once) and answered on the last node. */
async function webhookToSet(bench: BenchCluster, db: Pool, requests: number, jobs: number) {
	const call = await webhookToSetCall(bench, 'floor-set');
	await pool(40, 8, call); // warm-up
	const answered = await pool(requests, 8, call);

	const atOncePath = `bench-floor-set-at-once-${randomUUID()}`;
	const atOnceId = await activeWorkflow(
		bench.client,
		'webhook (respond at once) → Set',
		atOncePath,
		[webhookNode(atOncePath, [0, 0], { responseMode: 'onReceived' }), whereNode([220, 0])],
		chain('Webhook', 'Where'),
	);
	const atOnce = await submitAtOnce(bench.client, db, atOnceId, atOncePath, jobs, (i) => ({ i }));
	return {
		setup: `queue mode, main + ${WORKERS} workers (concurrency ${WORKER_CONCURRENCY})`,
		jobsAtOnce: atOnce,
		answeredOnLastNode: { requests, inFlight: 8, ...answered },
	};
}
