/**
 * Memory get/set/append latency (p50/p99, ms) and ops/s on local Redis and Postgres, next to the raw client's
 * GET/SET on the same server in the same run (Redis: GET/SET; Postgres: SELECT/UPSERT on a plain key-value table).
 * Sequential operations, one client each, variants interleaved op by op.
 */
import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';
import { Pool } from 'pg';

import { Memory, namespace, PostgresMemoryStore, RedisMemoryStore } from '../lib/memory';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
} from '../stack/services';
import { summary } from './stats';

type Op = () => Promise<unknown>;

async function measure(ops: Record<string, Op>, rounds: number) {
	const samples: Record<string, number[]> = Object.fromEntries(
		Object.keys(ops).map((k) => [k, []]),
	);
	for (let i = 0; i < rounds; i++) {
		for (const [name, op] of Object.entries(ops)) {
			const t = performance.now();
			await op();
			samples[name].push(performance.now() - t);
		}
	}
	return Object.fromEntries(
		Object.entries(samples).map(([name, values]) => [
			name,
			{
				...summary(values),
				opsPerSecond: Math.round(values.length / (values.reduce((s, v) => s + v, 0) / 1000)),
			},
		]),
	);
}

/**
 * Get and set on random keys of a namespace holding BENCH_MEMORY_SCALE_KEYS keys (default 1 000 000), written through
 * the Memory API 2 000 at a time; also the fill rate and Redis' memory for them.
 */
async function atScale(
	memory: Memory,
	redis: Redis,
	value: Record<string, unknown>,
	rounds: number,
	keys = Number(process.env.BENCH_MEMORY_SCALE_KEYS ?? 1_000_000),
) {
	const ns = namespace('bench-tenant', 'custom', 'scale');
	const usedMemory = async () =>
		Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
	const before = await usedMemory();
	const started = performance.now();
	for (let i = 0; i < keys; i += 2000)
		await Promise.all(
			Array.from({ length: Math.min(2000, keys - i) }, (_, j) =>
				memory.set(ns, `key-${i + j}`, value),
			),
		);
	const fillMs = performance.now() - started;
	const after = await usedMemory();
	const random = () => `key-${Math.floor(Math.random() * keys)}`;
	const r = await measure(
		{ get: () => memory.get(ns, random()), set: () => memory.set(ns, random(), value) },
		rounds,
	);
	return {
		keys,
		fillSetsPerSecond: Math.round(keys / (fillMs / 1000)),
		redisMemoryMiB: Math.round((after - before) / 1048576),
		...r,
	};
}

export async function memoryOps(rounds = Number(process.env.BENCH_MEMORY_ROUNDS ?? 2000)) {
	const run = randomBytes(4).toString('hex');
	const ns = namespace('bench-tenant', 'session', 'bench');
	const value = { text: 'a memory value of ordinary size', n: 42, tags: ['a', 'b', 'c'] };
	const json = JSON.stringify(value);
	const out: Record<string, unknown> = { unit: 'ms per operation', rounds };

	const redis = new Redis(redisFromEnv());
	const prefix = `openagents-bench-${run}`;
	try {
		const memory = new Memory({ store: new RedisMemoryStore(redis, prefix) });
		let n = 0;
		const r = await measure(
			{
				rawSet: () => redis.set(`${prefix}:raw`, json),
				rawGet: () => redis.get(`${prefix}:raw`),
				set: () => memory.set(ns, 'k', value),
				get: () => memory.get(ns, 'k'),
				append: () => memory.append(ns, `list-${Math.floor(n++ / 100)}`, [value]),
			},
			rounds,
		);
		out.redis = {
			...r,
			ratioGetP50: +(r.get.p50 / r.rawGet.p50).toFixed(2),
			ratioSetP50: +(r.set.p50 / r.rawSet.p50).toFixed(2),
		};
		out.redisAtScale = await atScale(memory, redis, value, rounds);
	} finally {
		redis.disconnect();
		await deleteKeys(redisFromEnv(), `${prefix}:*`);
	}

	const database = `openagents_bench_${run}`;
	await createDatabaseIfMissing(postgresFromEnv(), database);
	const pool = new Pool({ ...postgresFromEnv(), database, max: 2 });
	try {
		await pool.query('CREATE TABLE raw_kv (key text PRIMARY KEY, value jsonb NOT NULL)');
		const memory = new Memory({ store: new PostgresMemoryStore(pool, 'bench') });
		await memory.set(ns, 'warm', 1);
		let n = 0;
		const p = await measure(
			{
				rawSet: () =>
					pool.query(
						'INSERT INTO raw_kv VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
						['k', json],
					),
				rawGet: () => pool.query('SELECT value FROM raw_kv WHERE key = $1', ['k']),
				set: () => memory.set(ns, 'k', value),
				get: () => memory.get(ns, 'k'),
				append: () => memory.append(ns, `list-${Math.floor(n++ / 100)}`, [value]),
			},
			Math.min(rounds, 1000),
		);
		out.postgres = {
			...p,
			ratioGetP50: +(p.get.p50 / p.rawGet.p50).toFixed(2),
			ratioSetP50: +(p.set.p50 / p.rawSet.p50).toFixed(2),
		};
	} finally {
		await pool.end();
		await dropDatabase(postgresFromEnv(), database);
	}
	return out;
}
