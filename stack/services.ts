/** Postgres databases and Redis key prefixes for tests: each test creates its own and removes only those. */
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';

export function redisFromEnv(): RedisConfig {
	return {
		host: process.env.REDIS_HOST ?? '127.0.0.1',
		port: Number(process.env.REDIS_PORT ?? 6379),
		password: process.env.REDIS_PASSWORD,
	};
}

/** The Redis of redisFromEnv() as a redis:// URL (database 0), the form a rate limit store URL takes. */
export function redisUrl(config: RedisConfig = redisFromEnv()): string {
	const auth = config.password ? `:${encodeURIComponent(config.password)}@` : '';
	return `redis://${auth}${config.host}:${config.port}/0`;
}

export function postgresFromEnv(): PostgresConfig {
	return {
		host: process.env.PGHOST ?? '127.0.0.1',
		port: Number(process.env.PGPORT ?? 5432),
		user: process.env.PGUSER ?? 'postgres',
		password: process.env.PGPASSWORD ?? '',
	};
}

export interface RedisConfig {
	host: string;
	port: number;
	password?: string;
}

export interface PostgresConfig {
	host: string;
	port: number;
	user: string;
	password: string;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function withPg<T>(config: PostgresConfig, fn: (pg: PgClient) => Promise<T>): Promise<T> {
	const pg = new PgClient({ ...config, database: 'postgres' });
	await pg.connect();
	try {
		return await fn(pg);
	} finally {
		await pg.end();
	}
}

export async function createDatabaseIfMissing(
	config: PostgresConfig,
	database: string,
): Promise<boolean> {
	return withPg(config, async (pg) => {
		const exists = await pg.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
		if (exists.rowCount) return false;
		await pg.query(`CREATE DATABASE ${quoteIdent(database)}`);
		return true;
	});
}

/**
 * Drops a test database. A plain DROP first: Postgres waits up to 5 s for sessions that are still closing (a pool's
 * end() resolves before its sockets are gone), whereas FORCE would terminate them mid-close and their clients would
 * emit an unhandled 57P01 error. FORCE only if sessions are still open after that (55006 object_in_use).
 */
export async function dropDatabase(config: PostgresConfig, database: string): Promise<void> {
	await withPg(config, async (pg) => {
		try {
			await pg.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
		} catch (error) {
			if ((error as { code?: string }).code !== '55006') throw error;
			await pg.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
		}
	});
}

/** Deletes the keys matching `pattern` (SCAN, never KEYS or FLUSH*). */
export async function deleteKeys(config: RedisConfig, pattern: string): Promise<number> {
	const redis = new Redis({
		host: config.host,
		port: config.port,
		password: config.password,
		lazyConnect: true,
		maxRetriesPerRequest: 1,
	});
	await redis.connect();
	let deleted = 0;
	try {
		for await (const keys of redis.scanStream({ match: pattern, count: 500 }) as AsyncIterable<
			string[]
		>) {
			if (keys.length) deleted += await redis.del(...keys);
		}
	} finally {
		redis.disconnect();
	}
	return deleted;
}
