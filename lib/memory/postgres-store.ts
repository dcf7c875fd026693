import type { Pool, PoolClient } from 'pg';

import { MemoryError, VersionConflictError } from './errors';
import { namespaceId } from './keys';
import type { Namespace } from './scope';
import {
	APPEND_REQUEST_TTL_MS,
	pageSize,
	type ListOptions,
	type ListPage,
	type AppendMessagesOptions,
	type MemoryStore,
	type SetOptions,
	type StoredValue,
} from './store';
import type { JsonValue } from './values';

const LIVE = '(m.expires_at IS NULL OR m.expires_at > now())';
const EXPIRED = '(m.expires_at IS NOT NULL AND m.expires_at <= now())';
const EXPIRES = `CASE WHEN $4::bigint IS NULL THEN NULL ELSE now() + $4::bigint * interval '1 millisecond' END`;
/** increment/append: a given TTL replaces the expiry; otherwise a live key keeps its own. */
const KEEP_OR_NEW_EXPIRY = `CASE WHEN $4::bigint IS NOT NULL THEN EXCLUDED.expires_at WHEN ${EXPIRED} THEN NULL ELSE m.expires_at END`;

/** Conversation headers (kept messages are seq first_seq … next_seq − 1) and their messages, one row each. */
const CONVERSATIONS = '$CONVERSATIONS';
const MESSAGES = '$MESSAGES';
const APPENDS = '$APPENDS';
const STARTS_TURN = `message->>'role' IN ('user', 'system')`;

/** "Postgres host:port/database": the server, for messages (pg's defaults when the pool's options leave them out). */
export function postgresAddress(o: { host?: string; port?: number; database?: string }): string {
	return `Postgres ${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? 'postgres'}`;
}

/**
 * Memory in Postgres (pg Pool): table `<prefix>_memory` (namespace, key, value jsonb, version, updated_at,
 * expires_at) for values; `<prefix>_conversations` (namespace, key, first_seq, next_seq, expires_at) and
 * `<prefix>_messages` (namespace, key, seq, message jsonb) for conversations; `<prefix>_appends` (id, at): the
 * request IDs of recent appends (see AppendMessagesOptions.requestId); created on first use. Every value
 * write is one statement (INSERT … ON CONFLICT … DO UPDATE), atomic per row under concurrent workers; a
 * conversation append is one transaction that locks its header row. Every statement filters on the namespace.
 * Expired rows count as absent and are removed by purgeExpired().
 */
export class PostgresMemoryStore implements MemoryStore {
	readonly kind = 'postgres' as const;

	/** The server, from the pool's options (see postgresAddress). */
	readonly address: string;

	readonly table: string;

	private readonly prefix: string;

	private ready?: Promise<void>;

	/**
	 * onIdleError: receives the errors of idle connections (a server restart, an administrator terminating the
	 * session); the pool drops such a client and the next query reconnects.
	 */
	constructor(
		private readonly pool: Pool,
		prefix: string,
		private readonly ownsPool = false,
		onIdleError?: (error: Error) => void,
	) {
		if (!/^[A-Za-z_][A-Za-z0-9_]{0,48}$/.test(prefix)) {
			throw new MemoryError(
				`The Postgres table prefix "${prefix}" may contain only letters, digits and underscores (at most 49, not starting with a digit)`,
				'invalid_address',
			);
		}
		this.address = postgresAddress(pool.options);
		this.table = `${prefix}_memory`;
		this.prefix = prefix;
		// pg emits an idle client's connection loss on the pool; without a listener that 'error' event would crash
		// the whole n8n process. It is reported to onIdleError; the pool replaces the client by itself.
		pool.on('error', (error: Error) => onIdleError?.(error));
	}

	/** Creates the table and index once; an advisory lock keeps concurrent first uses (several workers) from colliding. */
	private ensureTable(): Promise<void> {
		this.ready ??= this.transaction(async (client) => {
			await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.table]);
			await client.query(`CREATE TABLE IF NOT EXISTS "${this.table}" (
				namespace text NOT NULL,
				key text COLLATE "C" NOT NULL,
				value jsonb NOT NULL,
				version bigint NOT NULL,
				updated_at timestamptz NOT NULL DEFAULT now(),
				expires_at timestamptz,
				PRIMARY KEY (namespace, key))`);
			await client.query(
				`CREATE INDEX IF NOT EXISTS "${this.table}_expires_at" ON "${this.table}" (expires_at) WHERE expires_at IS NOT NULL`,
			);
			await client.query(`CREATE TABLE IF NOT EXISTS "${this.prefix}_conversations" (
				namespace text NOT NULL,
				key text COLLATE "C" NOT NULL,
				first_seq bigint NOT NULL,
				next_seq bigint NOT NULL,
				expires_at timestamptz,
				PRIMARY KEY (namespace, key))`);
			await client.query(`CREATE TABLE IF NOT EXISTS "${this.prefix}_messages" (
				namespace text NOT NULL,
				key text COLLATE "C" NOT NULL,
				seq bigint NOT NULL,
				message jsonb NOT NULL,
				PRIMARY KEY (namespace, key, seq))`);
			await client.query(`CREATE TABLE IF NOT EXISTS "${this.prefix}_appends" (
				id text PRIMARY KEY,
				at timestamptz NOT NULL DEFAULT now())`);
		}).catch((error: unknown) => {
			this.ready = undefined;
			throw error;
		});
		return this.ready;
	}

	/** The statement with its table placeholders ($TABLE, $CONVERSATIONS, $MESSAGES, $APPENDS) filled in. */
	private sql(text: string): string {
		return text
			.replaceAll('$TABLE', `"${this.table}"`)
			.replaceAll(CONVERSATIONS, `"${this.prefix}_conversations"`)
			.replaceAll(MESSAGES, `"${this.prefix}_messages"`)
			.replaceAll(APPENDS, `"${this.prefix}_appends"`);
	}

	private async query<R extends object>(
		sql: string,
		params: unknown[],
		client: Pool | PoolClient = this.pool,
	): Promise<R[]> {
		await this.ensureTable();
		try {
			return (await client.query<R>(this.sql(sql), params)).rows;
		} catch (error) {
			// 22P05 untranslatable character, 22021 invalid byte sequence: Postgres text and jsonb cannot hold NUL.
			if (['22P05', '22021'].includes((error as { code?: string }).code ?? '')) {
				throw new MemoryError(
					'Postgres cannot store the NUL character (\\u0000) in text or JSON values; remove it, or use the Redis store',
					'invalid_value',
				);
			}
			throw error;
		}
	}

	async get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
		const [row] = await this.query<{ value: JsonValue; version: string }>(
			`SELECT value, version FROM $TABLE m WHERE namespace = $1 AND key = $2 AND ${LIVE}`,
			[namespaceId(ns), key],
		);
		return row && { value: row.value, version: Number(row.version) };
	}

	async set(ns: Namespace, key: string, json: string, options: SetOptions = {}): Promise<number> {
		const params = [namespaceId(ns), key, json, options.ttlMs ?? null];
		const { ifVersion } = options;
		let rows: Array<{ version: string }>;
		if (ifVersion !== undefined && ifVersion > 0) {
			rows = await this.query(
				`UPDATE $TABLE m SET value = $3::jsonb, version = m.version + 1, updated_at = now(), expires_at = ${EXPIRES}
				 WHERE namespace = $1 AND key = $2 AND ${LIVE} AND m.version = $5 RETURNING version`,
				[...params, ifVersion],
			);
		} else {
			const onlyIfAbsent = ifVersion === 0 ? `WHERE ${EXPIRED}` : '';
			rows = await this.query(
				`INSERT INTO $TABLE AS m (namespace, key, value, version, updated_at, expires_at) VALUES ($1, $2, $3::jsonb, 1, now(), ${EXPIRES})
				 ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value,
				   version = CASE WHEN ${EXPIRED} THEN 1 ELSE m.version + 1 END, updated_at = now(), expires_at = EXCLUDED.expires_at
				 ${onlyIfAbsent} RETURNING version`,
				params,
			);
		}
		if (!rows.length)
			throw new VersionConflictError(key, ifVersion!, (await this.get(ns, key))?.version ?? 0);
		return Number(rows[0].version);
	}

	async delete(ns: Namespace, key: string): Promise<boolean> {
		const rows = await this.query<{ live: boolean }>(
			`WITH kv AS (DELETE FROM $TABLE m WHERE namespace = $1 AND key = $2 RETURNING ${LIVE} AS live),
			   cv AS (DELETE FROM ${CONVERSATIONS} m WHERE namespace = $1 AND key = $2 RETURNING ${LIVE} AS live),
			   ms AS (DELETE FROM ${MESSAGES} WHERE namespace = $1 AND key = $2)
			 SELECT EXISTS (SELECT 1 FROM kv WHERE live) OR EXISTS (SELECT 1 FROM cv WHERE live) AS live`,
			[namespaceId(ns), key],
		);
		return rows[0]?.live === true;
	}

	async appendMessages(
		ns: Namespace,
		key: string,
		messagesJson: string[],
		options: AppendMessagesOptions = {},
	): Promise<{ length: number }> {
		await this.ensureTable();
		const id = namespaceId(ns);
		return this.transaction(async (client) => {
			const run = <R extends object>(sql: string, params: unknown[]) =>
				this.query<R>(sql, [id, key, ...params], client);
			// A request that ran already (its ID is stored; a running one holds the ID's row until it ends) appends nothing.
			if (
				options.requestId !== undefined &&
				!(await this.claimRequest(options.requestId, client))
			) {
				const [kept] = await run<{ length: string }>(
					`SELECT CASE WHEN ${LIVE} THEN next_seq - first_seq ELSE 0 END AS length FROM ${CONVERSATIONS} m
					 WHERE namespace = $1 AND key = $2`,
					[],
				);
				return { length: Number(kept?.length ?? 0) };
			}
			let { first, next } = await lockConversation(run);
			await run(
				`INSERT INTO ${MESSAGES} (namespace, key, seq, message)
				 SELECT $1, $2, $3::bigint + ord - 1, m FROM unnest($4::jsonb[]) WITH ORDINALITY AS t(m, ord)`,
				[next, messagesJson],
			);
			next += messagesJson.length;
			if (options.maxStored !== undefined && next - first > options.maxStored)
				first = await trimConversation(run, first, next, options.maxStored);
			await run(
				`UPDATE ${CONVERSATIONS} m SET first_seq = $3, next_seq = $4,
				   expires_at = CASE WHEN $5::bigint IS NOT NULL THEN now() + $5::bigint * interval '1 millisecond'
				                     WHEN ${EXPIRED} THEN NULL ELSE m.expires_at END
				 WHERE namespace = $1 AND key = $2`,
				[first, next, options.ttlMs ?? null],
			);
			return { length: next - first };
		});
	}

	/** Stores an append's request ID; false when it is stored already (that request appended, or is appending). */
	private async claimRequest(requestId: string, client: PoolClient): Promise<boolean> {
		const fresh = await this.query<{ id: string }>(
			`INSERT INTO ${APPENDS} (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id`,
			[requestId],
			client,
		);
		return fresh.length > 0;
	}

	/** Runs `work` in one transaction on one pooled client: committed when it returns, rolled back when it throws. */
	private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
		const client = await this.pool.connect();
		try {
			await client.query('BEGIN');
			const result = await work(client);
			await client.query('COMMIT');
			return result;
		} catch (error) {
			await client.query('ROLLBACK').catch(() => {});
			throw error;
		} finally {
			client.release();
		}
	}

	async readMessages(ns: Namespace, key: string, limit?: number): Promise<JsonValue[]> {
		const rows = await this.query<{ message: JsonValue }>(
			`SELECT s.message FROM ${MESSAGES} s JOIN ${CONVERSATIONS} m USING (namespace, key)
			 WHERE s.namespace = $1 AND s.key = $2 AND s.seq >= m.first_seq AND ${LIVE}
			 ORDER BY s.seq DESC LIMIT $3`,
			[namespaceId(ns), key, limit ?? null],
		);
		return rows.map((r) => r.message).reverse();
	}

	async list(ns: Namespace, options: ListOptions = {}): Promise<ListPage> {
		const limit = pageSize(options.limit);
		const rows = await this.query<{ key: string }>(
			`SELECT key FROM $TABLE m WHERE namespace = $1 AND starts_with(key, $2) AND ($3::text IS NULL OR key > $3) AND ${LIVE}
			 ORDER BY key LIMIT $4`,
			[namespaceId(ns), options.prefix ?? '', options.cursor ?? null, limit + 1],
		);
		const keys = rows.slice(0, limit).map((r) => r.key);
		return rows.length > limit ? { keys, nextCursor: keys[keys.length - 1] } : { keys };
	}

	async increment(ns: Namespace, key: string, by: number, ttlMs?: number): Promise<StoredValue> {
		const rows = await this.query<{ value: number; version: string }>(
			`INSERT INTO $TABLE AS m (namespace, key, value, version, updated_at, expires_at) VALUES ($1, $2, to_jsonb($3::numeric), 1, now(), ${EXPIRES})
			 ON CONFLICT (namespace, key) DO UPDATE SET
			   value = CASE WHEN ${EXPIRED} THEN EXCLUDED.value ELSE to_jsonb((m.value #>> '{}')::numeric + $3::numeric) END,
			   version = CASE WHEN ${EXPIRED} THEN 1 ELSE m.version + 1 END, updated_at = now(), expires_at = ${KEEP_OR_NEW_EXPIRY}
			 WHERE jsonb_typeof(m.value) = 'number' OR ${EXPIRED}
			 RETURNING value, version`,
			[namespaceId(ns), key, by, ttlMs ?? null],
		);
		if (!rows.length) throw new MemoryError(`"${key}" does not hold a number`, 'wrong_type');
		return { value: Number(rows[0].value), version: Number(rows[0].version) };
	}

	async append(
		ns: Namespace,
		key: string,
		itemsJson: string[],
		ttlMs?: number,
	): Promise<{ length: number; version: number }> {
		const rows = await this.query<{ length: number; version: string }>(
			`INSERT INTO $TABLE AS m (namespace, key, value, version, updated_at, expires_at) VALUES ($1, $2, $3::jsonb, 1, now(), ${EXPIRES})
			 ON CONFLICT (namespace, key) DO UPDATE SET
			   value = CASE WHEN ${EXPIRED} THEN EXCLUDED.value ELSE m.value || EXCLUDED.value END,
			   version = CASE WHEN ${EXPIRED} THEN 1 ELSE m.version + 1 END, updated_at = now(), expires_at = ${KEEP_OR_NEW_EXPIRY}
			 WHERE jsonb_typeof(m.value) = 'array' OR ${EXPIRED}
			 RETURNING jsonb_array_length(value) AS length, version`,
			[namespaceId(ns), key, `[${itemsJson.join(',')}]`, ttlMs ?? null],
		);
		if (!rows.length) throw new MemoryError(`"${key}" does not hold a list`, 'wrong_type');
		return { length: rows[0].length, version: Number(rows[0].version) };
	}

	/** Deletes expired rows of every namespace (and request IDs older than APPEND_REQUEST_TTL_MS); returns how many. */
	async purgeExpired(): Promise<number> {
		const rows = await this.query<{ n: string }>(
			`WITH d AS (DELETE FROM $TABLE m WHERE ${EXPIRED} RETURNING 1),
			   c AS (DELETE FROM ${CONVERSATIONS} m WHERE ${EXPIRED} RETURNING namespace, key),
			   s AS (DELETE FROM ${MESSAGES} s USING c WHERE s.namespace = c.namespace AND s.key = c.key),
			   r AS (DELETE FROM ${APPENDS} WHERE at < now() - $1::bigint * interval '1 millisecond')
			 SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM c) AS n`,
			[APPEND_REQUEST_TTL_MS],
		);
		return Number(rows[0].n);
	}

	async close(): Promise<void> {
		if (this.ownsPool) await this.pool.end();
	}
}

type ConversationQuery = <R extends object>(sql: string, params: unknown[]) => Promise<R[]>;

/**
 * Locks the conversation's header row (created when missing) for this transaction, so concurrent appends to it take
 * turns while other conversations go on; an expired conversation's messages are dropped and it starts again.
 * Returns its first and next sequence numbers.
 */
async function lockConversation(run: ConversationQuery): Promise<{ first: number; next: number }> {
	await run(
		`INSERT INTO ${CONVERSATIONS} (namespace, key, first_seq, next_seq) VALUES ($1, $2, 0, 0) ON CONFLICT DO NOTHING`,
		[],
	);
	const [header] = await run<{ first: string; next: string; expired: boolean }>(
		`SELECT first_seq AS first, next_seq AS next, ${EXPIRED} AS expired FROM ${CONVERSATIONS} m
		 WHERE namespace = $1 AND key = $2 FOR UPDATE`,
		[],
	);
	const next = Number(header.next);
	if (!header.expired) return { first: Number(header.first), next };
	await run(`DELETE FROM ${MESSAGES} WHERE namespace = $1 AND key = $2`, []);
	return { first: next, next };
}

/**
 * Drops the oldest messages so at most `max` remain, cutting at a turn start as messagesToTrim (conversation.ts)
 * does: the first turn start among the last `max`, else the latest turn's start. Returns the new first sequence.
 */
async function trimConversation(
	run: ConversationQuery,
	first: number,
	next: number,
	max: number,
): Promise<number> {
	const [cut] = await run<{ seq: string | null }>(
		`SELECT COALESCE(
		   (SELECT min(seq) FROM ${MESSAGES} WHERE namespace = $1 AND key = $2 AND seq >= $3 AND ${STARTS_TURN}),
		   (SELECT max(seq) FROM ${MESSAGES} WHERE namespace = $1 AND key = $2 AND seq < $3 AND seq > $4 AND ${STARTS_TURN})
		 ) AS seq`,
		[next - max, first],
	);
	if (cut.seq === null) return first;
	await run(`DELETE FROM ${MESSAGES} WHERE namespace = $1 AND key = $2 AND seq < $3`, [
		Number(cut.seq),
	]);
	return Number(cut.seq);
}
