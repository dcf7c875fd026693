/**
 * Where the shared counters live: rate-limiter-flexible's Redis, Postgres or in-memory limiters. Every worker that
 * points at the same store and key shares one set of counters.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import {
	RateLimiterMemory,
	RateLimiterPostgres,
	RateLimiterRedis,
	type RateLimiterAbstract,
} from 'rate-limiter-flexible';

interface CounterOptions {
	keyPrefix: string;
	points: number;
	/** Window, whole seconds; 0 = counters never expire. */
	duration: number;
}

export interface LimiterStore {
	readonly kind: 'redis' | 'postgres' | 'memory';
	/** Resolves once the store can count (Postgres: its table exists); rejects with the store's error. */
	ready(): Promise<void>;
	counter(options: CounterOptions): RateLimiterAbstract;
	close(): Promise<void>;
}

/** Counters in this process only: each n8n process limits on its own (single-instance n8n, or the fallback). */
export function memoryLimiterStore(): LimiterStore {
	return {
		kind: 'memory',
		ready: async () => {},
		counter: (options) => new RateLimiterMemory(options),
		close: async () => {},
	};
}

/** How long one store command may take before the limiter falls back to local counting, ms. */
const STORE_COMMAND_TIMEOUT_MS = 1_000;

/**
 * Counters in Redis (atomic Lua increments, keys expire with their window). `url`: redis:// or rediss:// URL.
 * A command that does not complete within STORE_COMMAND_TIMEOUT_MS fails (the limiter then counts locally).
 */
function redisLimiterStore(url: string): LimiterStore {
	const client = new Redis(url, {
		lazyConnect: false,
		commandTimeout: STORE_COMMAND_TIMEOUT_MS,
		connectTimeout: 5_000,
		maxRetriesPerRequest: 1,
		// The counts of one try are sent together: one round trip.
		enableAutoPipelining: true,
	});
	// Connection errors surface on the commands that fail; ioredis reconnects by itself.
	client.on('error', () => {});
	return {
		kind: 'redis',
		ready: async () => {},
		counter: (options) => new RateLimiterRedis({ ...options, storeClient: client }),
		close: async () => {
			if (client.status === 'ready') await client.quit();
			else client.disconnect();
		},
	};
}

/** The table rate-limiter-flexible's Postgres limiter keeps its counters in (one row per key). */
const POSTGRES_TABLE = 'openagents_rate_limits';

/**
 * Counters in Postgres (one upsert per count, rows expire with their window; expired rows removed hourly).
 * `url`: postgres:// connection string. The table is created on first use.
 */
function postgresLimiterStore(url: string): LimiterStore {
	const pool = new Pool({
		connectionString: url,
		max: 5,
		connectionTimeoutMillis: 5_000,
		query_timeout: STORE_COMMAND_TIMEOUT_MS,
	});
	pool.on('error', () => {}); // an idle client's error; the next query reports its own
	let created: Promise<void> | undefined;
	const ready = () =>
		(created ??= new Promise<void>((resolve, reject) => {
			new RateLimiterPostgres(
				{ storeClient: pool, storeType: 'pool', tableName: POSTGRES_TABLE, points: 1, duration: 1 },
				(error?: Error) => {
					// Two processes creating the table at once: the loser sees a duplicate, and the table is there.
					const code = (error as { code?: string } | undefined)?.code;
					if (!error || code === '23505' || code === '42P07') resolve();
					else reject(error);
				},
			);
		}).catch((error: unknown) => {
			created = undefined;
			throw error;
		}));
	return {
		kind: 'postgres',
		ready,
		counter: (options) =>
			new RateLimiterPostgres({
				...options,
				storeClient: pool,
				storeType: 'pool',
				tableName: POSTGRES_TABLE,
				tableCreated: true,
			}),
		close: () => pool.end(),
	};
}

/** A store for a connection URL: redis:// / rediss:// → Redis, postgres:// / postgresql:// → Postgres. */
export function limiterStoreFor(url: string): LimiterStore {
	const scheme = url.split(':', 1)[0].toLowerCase();
	if (scheme === 'redis' || scheme === 'rediss') return redisLimiterStore(url);
	if (scheme === 'postgres' || scheme === 'postgresql') return postgresLimiterStore(url);
	throw new Error(
		`The rate limit store URL must start with redis://, rediss://, postgres:// or postgresql://, got "${scheme}:"`,
	);
}
