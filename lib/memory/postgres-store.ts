import type { Pool } from 'pg';

import { MemoryError, VersionConflictError } from './errors';
import { namespaceId } from './keys';
import type { Namespace } from './scope';
import {
	pageSize,
	type ListOptions,
	type ListPage,
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

/**
 * Memory in Postgres (pg Pool): one table `<prefix>_memory` (namespace, key, value jsonb, version, updated_at,
 * expires_at), created on first use. Every write is one statement (INSERT … ON CONFLICT … DO UPDATE), atomic per
 * row under concurrent workers; every statement filters on the namespace. Expired rows count as absent and are
 * removed by purgeExpired().
 */
export class PostgresMemoryStore implements MemoryStore {
	readonly kind = 'postgres' as const;

	readonly table: string;

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
		this.table = `${prefix}_memory`;
		// pg emits an idle client's connection loss on the pool; without a listener that 'error' event would crash
		// the whole n8n process. It is reported to onIdleError; the pool replaces the client by itself.
		pool.on('error', (error: Error) => onIdleError?.(error));
	}

	/** Creates the table and index once; an advisory lock keeps concurrent first uses (several workers) from colliding. */
	private ensureTable(): Promise<void> {
		this.ready ??= (async () => {
			const client = await this.pool.connect();
			try {
				await client.query('BEGIN');
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
				await client.query('COMMIT');
			} catch (error) {
				await client.query('ROLLBACK').catch(() => {});
				this.ready = undefined;
				throw error;
			} finally {
				client.release();
			}
		})();
		return this.ready;
	}

	private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
		await this.ensureTable();
		try {
			return (await this.pool.query<R>(sql.replaceAll('$TABLE', `"${this.table}"`), params)).rows;
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
			`DELETE FROM $TABLE m WHERE namespace = $1 AND key = $2 RETURNING ${LIVE} AS live`,
			[namespaceId(ns), key],
		);
		return rows[0]?.live === true;
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

	/** Deletes expired rows of every namespace; returns how many. */
	async purgeExpired(): Promise<number> {
		const rows = await this.query<{ n: string }>(
			`WITH d AS (DELETE FROM $TABLE m WHERE ${EXPIRED} RETURNING 1) SELECT count(*) AS n FROM d`,
			[],
		);
		return Number(rows[0].n);
	}

	async close(): Promise<void> {
		if (this.ownsPool) await this.pool.end();
	}
}
