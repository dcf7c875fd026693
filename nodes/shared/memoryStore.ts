/** Builds the lib/memory store a node uses from its "Store" parameter and OpenAgents Memory Store credential. */
import Redis from 'ioredis';
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';
import { Pool } from 'pg';

import {
	assertSingleInstance,
	InProcessMemoryStore,
	PostgresMemoryStore,
	RedisMemoryStore,
	type MemoryStore,
} from '../../lib/memory';

/** One in-process store per n8n process, shared by all executions of that process (single-instance n8n only). */
let inProcess: InProcessMemoryStore | undefined;

/** An ioredis client (not yet connected) for the credential's Redis backend. */
export function redisClient(c: ICredentialDataDecryptedObject): Redis {
	return new Redis({
		host: String(c.host),
		port: Number(c.redisPort ?? 6379),
		db: Number(c.redisDatabase ?? 0),
		username: c.user ? String(c.user) : undefined,
		password: c.password ? String(c.password) : undefined,
		tls: c.ssl ? {} : undefined,
		lazyConnect: true,
		connectTimeout: 10_000,
		maxRetriesPerRequest: 2,
	});
}

function postgresPool(c: ICredentialDataDecryptedObject): Pool {
	return new Pool({
		host: String(c.host),
		port: Number(c.postgresPort ?? 5432),
		database: String(c.postgresDatabase ?? 'postgres'),
		user: c.user ? String(c.user) : undefined,
		password: c.password ? String(c.password) : undefined,
		ssl: c.ssl ? { rejectUnauthorized: false } : undefined,
		max: 5,
		connectionTimeoutMillis: 10_000,
	});
}

/** Connects, rejecting with the socket's own error (e.g. ECONNREFUSED) rather than ioredis's "Connection is closed.". */
async function connectRedis(c: ICredentialDataDecryptedObject): Promise<Redis> {
	const redis = redisClient(c);
	let lastError: Error | undefined;
	redis.on('error', (error: Error) => (lastError = error));
	try {
		await redis.connect();
		return redis;
	} catch (error) {
		redis.disconnect();
		throw lastError ?? error;
	}
}

/** A store from credential data; the caller closes it (close() ends the clients created here). */
export async function storeFromCredential(c: ICredentialDataDecryptedObject): Promise<MemoryStore> {
	const prefix = String(c.prefix ?? 'openagents');
	if (c.backend === 'postgres') return new PostgresMemoryStore(postgresPool(c), prefix, true);
	return new RedisMemoryStore(await connectRedis(c), prefix, true);
}

/** The process-wide in-process store (never close it: it is shared); throws in queue mode (see assertSingleInstance). */
export function inProcessStore(): MemoryStore {
	assertSingleInstance(process.env.EXECUTIONS_MODE);
	inProcess ??= new InProcessMemoryStore();
	return inProcess;
}

/** Credential test for OpenAgents Memory Store: Redis PING or Postgres SELECT 1, with the server's own error on failure. */
export async function memoryStoreCredentialTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const c = credential.data ?? {};
	try {
		if (c.backend === 'postgres') {
			const pool = postgresPool(c);
			try {
				await pool.query('SELECT 1');
			} finally {
				await pool.end();
			}
		} else {
			const redis = await connectRedis(c);
			try {
				await redis.ping();
			} finally {
				redis.disconnect();
			}
		}
		return { status: 'OK', message: 'Connection successful' };
	} catch (error) {
		return {
			status: 'Error',
			message: `Cannot reach the ${c.backend === 'postgres' ? 'Postgres' : 'Redis'} server: ${(error as Error).message}`,
		};
	}
}
