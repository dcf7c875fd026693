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
	openFailure,
	PostgresMemoryStore,
	postgresAddress,
	RedisMemoryStore,
	redisAddress,
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
		// The server cancels a statement before the client stops waiting for it: a write reported as store_timeout
		// must not land afterwards (e.g. when a row lock clears just after the client gave up).
		statement_timeout: Math.max(100, timeoutMs - 250),
	});
}

/**
 * Connects, rejecting at the first error with it: the socket's own (e.g. ECONNREFUSED) rather than ioredis's
 * "Connection is closed.", and a ready check that timed out at once (ioredis would wait disconnectTimeout, 2 s, for
 * a server that does not answer to close the socket).
 */
async function connectRedis(
	c: ICredentialDataDecryptedObject,
	settings: StoreSettings = {},
): Promise<Redis> {
	const redis = redisClient(c, settings.timeoutMs);
	let firstError: Error | undefined;
	let fail!: (error: Error) => void;
	const failed = new Promise<never>((_, reject) => (fail = reject));
	const onError = (error: Error) => {
		firstError ??= error;
		fail(error);
	};
	redis.on('error', onError);
	const connecting = redis.connect();
	try {
		await Promise.race([connecting, failed]);
	} catch (error) {
		connecting.catch(() => undefined); // ends with "Connection is closed." once disconnected
		redis.disconnect();
		throw firstError ?? error;
	} finally {
		redis.off('error', onError);
	}
	// Connected: later connection errors (ioredis reconnects by itself) are reported, not swallowed.
	redis.on('error', (error: Error) => settings.log?.(`Memory store (Redis): ${error.message}`));
	return redis;
}

/** The credential's server as the stores name it in messages, e.g. "Redis 127.0.0.1:6379" (see MemoryStore.address). */
export function credentialStoreAddress(c: ICredentialDataDecryptedObject): string {
	return c.backend === 'postgres'
		? postgresAddress({
				host: String(c.host),
				port: Number(c.postgresPort ?? 5432),
				database: String(c.postgresDatabase ?? 'postgres'),
			})
		: redisAddress({
				host: String(c.host),
				port: Number(c.redisPort ?? 6379),
				db: Number(c.redisDatabase ?? 0),
			});
}

/**
 * A store from credential data; the caller closes it (close() ends the clients created here). A Redis server that
 * cannot be connected to throws MemoryError store_unavailable or store_timeout naming it (see openFailure); a
 * Postgres pool connects on its first query.
 */
export async function storeFromCredential(
	c: ICredentialDataDecryptedObject,
	settings: StoreSettings = {},
): Promise<MemoryStore> {
	const prefix = String(c.prefix ?? 'openagents');
	if (c.backend === 'postgres') {
		const log = (error: Error) => settings.log?.(`Memory store (Postgres): ${error.message}`);
		return new PostgresMemoryStore(postgresPool(c, settings.timeoutMs), prefix, true, log);
	}
	const redis = await connectRedis(c, settings).catch((error: unknown) => {
		throw openFailure(error, credentialStoreAddress(c));
	});
	return new RedisMemoryStore(redis, prefix, true);
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
