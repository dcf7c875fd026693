/** Builds the lib/memory store a node uses from its "Store" parameter and OpenAgents Memory Store API credential. */
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
} from '../../../lib/memory';

/** One in-process store per n8n process, shared by all executions of that process (single-instance n8n only). */
let inProcess: InProcessMemoryStore | undefined;

/** How long one store command or statement may take before it fails, ms: the default of the Timeout option. */
export const DEFAULT_STORE_TIMEOUT_MS = 10_000;

/** What a store from a credential is opened with: the per-command time limit and where connection errors go. */
interface StoreSettings {
	timeoutMs?: number;
	/** Receives connection errors the clients report between calls (the next call reconnects). */
	log?: (line: string) => void;
}

/** TLS options: the server certificate is verified (against the CA given, else the public ones) unless allowed self-signed. */
function tls(c: ICredentialDataDecryptedObject) {
	if (!c.ssl) return undefined;
	return { ca: c.ca ? String(c.ca) : undefined, rejectUnauthorized: c.allowSelfSigned !== true };
}

/** An ioredis client (not yet connected) for the credential's Redis backend; each command fails after timeoutMs. */
export function redisClient(
	c: ICredentialDataDecryptedObject,
	timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
): Redis {
	return new Redis({
		host: String(c.host),
		port: Number(c.redisPort ?? 6379),
		db: Number(c.redisDatabase ?? 0),
		username: c.user ? String(c.user) : undefined,
		password: c.password ? String(c.password) : undefined,
		tls: tls(c),
		lazyConnect: true,
		connectTimeout: Math.min(timeoutMs, 10_000),
		commandTimeout: timeoutMs,
		maxRetriesPerRequest: 2,
	});
}

/** A pg Pool for the credential's Postgres backend; each query fails after timeoutMs, on the server and the client. */
function postgresPool(
	c: ICredentialDataDecryptedObject,
	timeoutMs = DEFAULT_STORE_TIMEOUT_MS,
): Pool {
	return new Pool({
		host: String(c.host),
		port: Number(c.postgresPort ?? 5432),
		database: String(c.postgresDatabase ?? 'postgres'),
		user: c.user ? String(c.user) : undefined,
		password: c.password ? String(c.password) : undefined,
		ssl: tls(c),
		max: 5,
		connectionTimeoutMillis: Math.min(timeoutMs, 10_000),
		query_timeout: timeoutMs,
		statement_timeout: timeoutMs,
	});
}

/** Connects, rejecting with the socket's own error (e.g. ECONNREFUSED) rather than ioredis's "Connection is closed.". */
async function connectRedis(
	c: ICredentialDataDecryptedObject,
	settings: StoreSettings = {},
): Promise<Redis> {
	const redis = redisClient(c, settings.timeoutMs);
	let lastError: Error | undefined;
	const remember = (error: Error) => (lastError = error);
	redis.on('error', remember);
	try {
		await redis.connect();
	} catch (error) {
		redis.disconnect();
		throw lastError ?? error;
	}
	// Connected: later connection errors (ioredis reconnects by itself) are reported, not swallowed.
	redis.off('error', remember);
	redis.on('error', (error: Error) => settings.log?.(`Memory store (Redis): ${error.message}`));
	return redis;
}

/** A store from credential data; the caller closes it (close() ends the clients created here). */
export async function storeFromCredential(
	c: ICredentialDataDecryptedObject,
	settings: StoreSettings = {},
): Promise<MemoryStore> {
	const prefix = String(c.prefix ?? 'openagents');
	if (c.backend === 'postgres') {
		const log = (error: Error) => settings.log?.(`Memory store (Postgres): ${error.message}`);
		return new PostgresMemoryStore(postgresPool(c, settings.timeoutMs), prefix, true, log);
	}
	return new RedisMemoryStore(await connectRedis(c, settings), prefix, true);
}

/** The process-wide in-process store (never close it: it is shared); throws in queue mode (see assertSingleInstance). */
export function inProcessStore(): MemoryStore {
	assertSingleInstance();
	inProcess ??= new InProcessMemoryStore();
	return inProcess;
}

/** Credential test for OpenAgents Memory Store API: Redis PING or Postgres SELECT 1, with the server's own error on failure. */
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
