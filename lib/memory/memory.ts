import { randomUUID } from 'node:crypto';

import { errorChain, NoRetryPolicy, withRetry, type RetryPolicy } from '../retry';
import { checkAccess, FULL_ACCESS, type AccessPolicy } from './access';
import {
	fromTurnStart,
	selectRecent,
	type ConversationMessage,
	type RecentOptions,
} from './conversation';
import { MemoryError } from './errors';
import { checkKey, type Namespace } from './scope';
import { storeFailure, storeFailureCode } from './store-failures';
import type {
	AppendMessagesOptions,
	ListOptions,
	ListPage,
	MemoryStore,
	StoredValue,
} from './store';
import { DEFAULT_MAX_VALUE_BYTES, serializeValue } from './values';

interface MemoryOptions {
	store: MemoryStore;
	/** Default: every scope, no tenant required. */
	policy?: AccessPolicy;
	/** Default: no retries. */
	retry?: RetryPolicy;
	signal?: AbortSignal;
	/** Per attempt of a store call, ms: a slower attempt is abandoned and counts as failed (default none). */
	timeoutMs?: number;
	/** Per stored value, bytes of JSON (default 1 MiB). */
	maxValueBytes?: number;
}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** Increment and append are not idempotent: retry them only when the request cannot have reached the server. */
function notSent(error: unknown): boolean {
	return errorChain(error).some((e) => typeof e.code === 'string' && NOT_SENT.has(e.code));
}

/** Worth another attempt: the store did not answer in time or could not be reached (see storeFailureCode). */
function isTransientStoreError(error: unknown): boolean {
	return storeFailureCode(error) !== undefined;
}

function checkTtl(ttlMs: number | undefined): void {
	if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0))
		throw new MemoryError(
			`TTL must be a positive number of milliseconds, got ${ttlMs}`,
			'invalid_value',
		);
}

/**
 * Scoped memory over a store: validates keys and values, enforces the access policy on every call, and retries
 * transient store errors under the retry policy (increment/append only when the request was surely not sent;
 * appendMessages always, as the store runs each of its requests once). Throws MemoryError (invalid_address,
 * access_denied, invalid_value, wrong_type; store_timeout and store_unavailable naming the store after the retries),
 * VersionConflictError, or the store's own error.
 */
export class Memory {
	private readonly policy: AccessPolicy;

	private readonly retryPolicy: RetryPolicy;

	private readonly maxValueBytes: number;

	constructor(private readonly options: MemoryOptions) {
		this.policy = options.policy ?? FULL_ACCESS;
		this.retryPolicy = options.retry ?? new NoRetryPolicy();
		this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
	}

	get store(): MemoryStore {
		return this.options.store;
	}

	private async run<T>(
		mode: 'read' | 'write',
		ns: Namespace,
		op: () => Promise<T>,
		idempotent = true,
	): Promise<T> {
		checkAccess(this.policy, mode, ns);
		try {
			return await withRetry(op, this.retryPolicy, {
				signal: this.options.signal,
				timeoutMs: this.options.timeoutMs,
				isRetryable: idempotent ? isTransientStoreError : notSent,
			});
		} catch (error) {
			throw storeFailure(error, { address: this.store.address, signal: this.options.signal });
		}
	}

	get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
		checkKey(key);
		return this.run('read', ns, () => this.store.get(ns, key));
	}

	/** Stores `value` (plain JSON). ttlMs: expiry in ms; ifVersion: compare-and-set (0 = create only). Returns the new version. */
	async set(
		ns: Namespace,
		key: string,
		value: unknown,
		options: { ttlMs?: number; ifVersion?: number } = {},
	): Promise<{ version: number }> {
		checkKey(key);
		checkTtl(options.ttlMs);
		if (
			options.ifVersion !== undefined &&
			(!Number.isInteger(options.ifVersion) || options.ifVersion < 0)
		) {
			throw new MemoryError(
				`The expected version must be a whole number ≥ 0, got ${options.ifVersion}`,
				'invalid_value',
			);
		}
		const json = serializeValue(value, this.maxValueBytes);
		return { version: await this.run('write', ns, () => this.store.set(ns, key, json, options)) };
	}

	delete(ns: Namespace, key: string): Promise<boolean> {
		checkKey(key);
		return this.run('write', ns, () => this.store.delete(ns, key));
	}

	list(ns: Namespace, options: ListOptions = {}): Promise<ListPage> {
		return this.run('read', ns, () => this.store.list(ns, options));
	}

	increment(ns: Namespace, key: string, by = 1, ttlMs?: number): Promise<StoredValue> {
		checkKey(key);
		checkTtl(ttlMs);
		if (!Number.isFinite(by))
			throw new MemoryError(`The increment must be a finite number, got ${by}`, 'invalid_value');
		return this.run('write', ns, () => this.store.increment(ns, key, by, ttlMs), false);
	}

	/** Appends items (each plain JSON) to the list at `key`; returns the new length and version. */
	append(
		ns: Namespace,
		key: string,
		items: unknown[],
		ttlMs?: number,
	): Promise<{ length: number; version: number }> {
		checkKey(key);
		checkTtl(ttlMs);
		if (!Array.isArray(items) || items.length === 0)
			throw new MemoryError('Append needs at least one item', 'invalid_value');
		const json = items.map((item) => serializeValue(item, this.maxValueBytes));
		return this.run('write', ns, () => this.store.append(ns, key, json, ttlMs), false);
	}

	/**
	 * Adds messages to the conversation at `sessionKey`, stamping `at` when missing; O(1) per message in every store.
	 * ttlMs: expiry of the conversation, renewed; maxStored: keep at most this many messages, removing the oldest
	 * whole turns (see AppendMessagesOptions). Returns the number of messages kept. Retried like a read: the messages
	 * are stored once, however many attempts reach the store.
	 */
	appendMessages(
		ns: Namespace,
		sessionKey: string,
		messages: ConversationMessage[],
		options: AppendMessagesOptions = {},
	): Promise<{ length: number }> {
		checkKey(sessionKey);
		checkTtl(options.ttlMs);
		const { maxStored } = options;
		if (maxStored !== undefined && (!Number.isInteger(maxStored) || maxStored < 1))
			throw new MemoryError(
				`Max Stored Messages must be a whole number ≥ 1, got ${maxStored}`,
				'invalid_value',
			);
		if (!messages.length)
			throw new MemoryError('Append needs at least one message', 'invalid_value');
		const at = new Date().toISOString();
		const json = messages.map((m) => serializeValue({ at, ...m }, this.maxValueBytes));
		// One request ID for every attempt: the store appends once however many attempts reach it, so retrying is safe.
		const request = { ...options, requestId: randomUUID() };
		return this.run('write', ns, () => this.store.appendMessages(ns, sessionKey, json, request));
	}

	/**
	 * The recent part of a conversation within the budget, cut at whole turns (see selectRecent). With maxMessages
	 * only that many messages are read from the store, however long the conversation.
	 */
	async readMessages(
		ns: Namespace,
		sessionKey: string,
		options: RecentOptions = {},
	): Promise<ConversationMessage[]> {
		checkKey(sessionKey);
		const limit = Number.isFinite(options.maxMessages) ? options.maxMessages : undefined;
		const read = (await this.run('read', ns, () =>
			this.store.readMessages(ns, sessionKey, limit),
		)) as unknown as ConversationMessage[];
		// A full window may begin inside a turn; a shorter one is the whole conversation.
		const window = limit !== undefined && read.length >= limit ? fromTurnStart(read) : read;
		return selectRecent(window, options);
	}
}
