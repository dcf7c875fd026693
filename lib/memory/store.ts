import type { Namespace } from './scope';
import type { JsonValue } from './values';

/** A stored value and its version (1 after the first write, +1 per write; a missing or expired key is version 0). */
export interface StoredValue {
	value: JsonValue;
	version: number;
}

export interface SetOptions {
	/** Expire after this many milliseconds; without it, a set makes the key persistent. */
	ttlMs?: number;
	/** Compare-and-set: write only if the stored version equals this (0 = only if the key does not exist). */
	ifVersion?: number;
}

export interface ListOptions {
	/** Only keys starting with this string. */
	prefix?: string;
	/** Page size (default 100, at most 1000). */
	limit?: number;
	/** `nextCursor` of the previous page. */
	cursor?: string;
}

export interface ListPage {
	/** Keys in byte order of their UTF-8 text. */
	keys: string[];
	/** Present when more keys follow. */
	nextCursor?: string;
}

/**
 * A backend. Every method is confined to the one namespace it is given: no method reads, lists or deletes
 * outside it. Values arrive already validated and serialised (JSON text). Writes are atomic per key.
 * increment/append keep an existing TTL unless `ttlMs` is given.
 */
export interface MemoryStore {
	readonly kind: 'redis' | 'postgres' | 'in-process';
	/** The server, for messages: e.g. "Redis 127.0.0.1:6379", "Postgres db.example:5432/n8n", "in-process". */
	readonly address: string;
	get(ns: Namespace, key: string): Promise<StoredValue | undefined>;
	/** Returns the new version; throws VersionConflictError when `ifVersion` does not match. */
	set(ns: Namespace, key: string, json: string, options?: SetOptions): Promise<number>;
	/** True when the key existed. */
	delete(ns: Namespace, key: string): Promise<boolean>;
	list(ns: Namespace, options?: ListOptions): Promise<ListPage>;
	/** Adds `by` to a number (a missing key counts as 0); throws MemoryError('wrong_type') for a non-number. */
	increment(ns: Namespace, key: string, by: number, ttlMs?: number): Promise<StoredValue>;
	/** Appends items (JSON texts) to a list (a missing key counts as []); throws MemoryError('wrong_type') for a non-list. */
	append(
		ns: Namespace,
		key: string,
		itemsJson: string[],
		ttlMs?: number,
	): Promise<{ length: number; version: number }>;
	/**
	 * Conversations, kept apart from values (Get, Set and List Keys do not see them; Delete removes both): messages
	 * (JSON texts of objects with a `role`) appended in O(1) — a Redis list, one Postgres row each — and read from
	 * the end. Returns the number of messages kept. With `requestId`, an append that already ran (a retry after a
	 * lost connection or a timeout) appends nothing again and returns the length as it is.
	 */
	appendMessages(
		ns: Namespace,
		key: string,
		messagesJson: string[],
		options?: AppendMessagesOptions,
	): Promise<{ length: number }>;
	/** The last `limit` messages of a conversation (all when undefined), oldest first; [] when there is none. */
	readMessages(ns: Namespace, key: string, limit?: number): Promise<JsonValue[]>;
	close(): Promise<void>;
}

export interface AppendMessagesOptions {
	/** Expiry of the whole conversation, ms, renewed by this append; without it the conversation keeps its expiry. */
	ttlMs?: number;
	/**
	 * Keep at most this many messages by removing the oldest whole turns (a turn starts at a user or system message).
	 * The latest turn is never cut, so a single turn longer than this is kept whole.
	 */
	maxStored?: number;
	/**
	 * Makes the append idempotent: a second append with the same ID within APPEND_REQUEST_TTL_MS appends nothing.
	 * Memory gives every append its own, so that a retry cannot store a turn twice.
	 */
	requestId?: string;
}

/** How long a store remembers the requestId of an append, ms (longer than any retry of it takes). */
export const APPEND_REQUEST_TTL_MS = 3_600_000;

const MAX_PAGE = 1000;

export function pageSize(limit?: number): number {
	return Math.min(MAX_PAGE, Math.max(1, Math.floor(limit ?? 100)));
}

/** Byte order of UTF-8 text, the order every store lists keys in. */
export function compareKeys(a: string, b: string): number {
	return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
