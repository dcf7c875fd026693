import { messagesToTrim } from './conversation';
import { MemoryError, VersionConflictError } from './errors';
import { namespaceId } from './keys';
import type { Namespace } from './scope';
import {
	compareKeys,
	pageSize,
	type ListOptions,
	type ListPage,
	type AppendMessagesOptions,
	type MemoryStore,
	type SetOptions,
	type StoredValue,
} from './store';
import type { JsonValue } from './values';

interface Entry {
	json: string;
	version: number;
	expiresAt?: number;
}

interface Conversation {
	messages: JsonValue[];
	expiresAt?: number;
}

/**
 * Keeps values in this process's memory: for a single n8n instance only (not shared between queue-mode workers;
 * see assertSingleInstance). Entries are kept per namespace in separate maps.
 */
export class InProcessMemoryStore implements MemoryStore {
	readonly kind = 'in-process' as const;

	readonly address = 'in-process';

	private readonly namespaces = new Map<string, Map<string, Entry>>();

	private readonly conversations = new Map<string, Map<string, Conversation>>();

	constructor(private readonly now: () => number = Date.now) {}

	private entries(ns: Namespace): Map<string, Entry> {
		const id = namespaceId(ns);
		let map = this.namespaces.get(id);
		if (!map) this.namespaces.set(id, (map = new Map()));
		return map;
	}

	private live(ns: Namespace, key: string): Entry | undefined {
		const map = this.entries(ns);
		const entry = map.get(key);
		if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
			map.delete(key);
			return undefined;
		}
		return entry;
	}

	private write(
		ns: Namespace,
		key: string,
		json: string,
		previous: Entry | undefined,
		ttlMs: number | undefined,
		keepTtl: boolean,
	): Entry {
		const expiresAt =
			ttlMs !== undefined ? this.now() + ttlMs : keepTtl ? previous?.expiresAt : undefined;
		const entry = { json, version: (previous?.version ?? 0) + 1, expiresAt };
		this.entries(ns).set(key, entry);
		return entry;
	}

	async get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
		const entry = this.live(ns, key);
		return entry && { value: JSON.parse(entry.json) as JsonValue, version: entry.version };
	}

	async set(ns: Namespace, key: string, json: string, options: SetOptions = {}): Promise<number> {
		const previous = this.live(ns, key);
		if (options.ifVersion !== undefined && options.ifVersion !== (previous?.version ?? 0)) {
			throw new VersionConflictError(key, options.ifVersion, previous?.version ?? 0);
		}
		return this.write(ns, key, json, previous, options.ttlMs, false).version;
	}

	async delete(ns: Namespace, key: string): Promise<boolean> {
		const existed = this.live(ns, key) !== undefined || this.conversation(ns, key) !== undefined;
		this.entries(ns).delete(key);
		this.conversations.get(namespaceId(ns))?.delete(key);
		return existed;
	}

	/** The live conversation at key, if any (an expired one is removed). */
	private conversation(ns: Namespace, key: string): Conversation | undefined {
		const map = this.conversations.get(namespaceId(ns));
		const found = map?.get(key);
		if (found?.expiresAt !== undefined && found.expiresAt <= this.now()) {
			map!.delete(key);
			return undefined;
		}
		return found;
	}

	/** An append here runs whole or not at all (no connection to lose), so `requestId` has nothing to prevent. */
	async appendMessages(
		ns: Namespace,
		key: string,
		messagesJson: string[],
		options: AppendMessagesOptions = {},
	): Promise<{ length: number }> {
		const id = namespaceId(ns);
		if (!this.conversations.has(id)) this.conversations.set(id, new Map());
		const conversation = this.conversation(ns, key) ?? { messages: [] };
		conversation.messages.push(...messagesJson.map((j) => JSON.parse(j) as JsonValue));
		if (options.maxStored !== undefined) {
			const roles = conversation.messages.map((m) => (m as { role?: unknown } | null)?.role);
			conversation.messages.splice(0, messagesToTrim(roles, options.maxStored));
		}
		if (options.ttlMs !== undefined) conversation.expiresAt = this.now() + options.ttlMs;
		this.conversations.get(id)!.set(key, conversation);
		return { length: conversation.messages.length };
	}

	async readMessages(ns: Namespace, key: string, limit?: number): Promise<JsonValue[]> {
		const messages = this.conversation(ns, key)?.messages ?? [];
		return structuredClone(
			limit === undefined ? messages : messages.slice(Math.max(0, messages.length - limit)),
		);
	}

	async list(ns: Namespace, options: ListOptions = {}): Promise<ListPage> {
		const prefix = options.prefix ?? '';
		const keys = [...this.entries(ns).keys()]
			.filter(
				(k) =>
					k.startsWith(prefix) &&
					(options.cursor === undefined || compareKeys(k, options.cursor) > 0) &&
					this.live(ns, k),
			)
			.sort(compareKeys);
		const page = keys.slice(0, pageSize(options.limit));
		return page.length < keys.length
			? { keys: page, nextCursor: page[page.length - 1] }
			: { keys: page };
	}

	async increment(ns: Namespace, key: string, by: number, ttlMs?: number): Promise<StoredValue> {
		const previous = this.live(ns, key);
		const current = previous ? (JSON.parse(previous.json) as JsonValue) : 0;
		if (typeof current !== 'number')
			throw new MemoryError(
				`"${key}" holds a ${Array.isArray(current) ? 'list' : typeof current}, not a number`,
				'wrong_type',
			);
		const value = current + by;
		const entry = this.write(ns, key, JSON.stringify(value), previous, ttlMs, true);
		return { value, version: entry.version };
	}

	async append(
		ns: Namespace,
		key: string,
		itemsJson: string[],
		ttlMs?: number,
	): Promise<{ length: number; version: number }> {
		const previous = this.live(ns, key);
		const current = previous ? (JSON.parse(previous.json) as JsonValue) : [];
		if (!Array.isArray(current))
			throw new MemoryError(
				`"${key}" holds a ${current === null ? 'null' : typeof current}, not a list`,
				'wrong_type',
			);
		const list = [...current, ...itemsJson.map((j) => JSON.parse(j) as JsonValue)];
		const entry = this.write(ns, key, JSON.stringify(list), previous, ttlMs, true);
		return { length: list.length, version: entry.version };
	}

	async close(): Promise<void> {
		this.namespaces.clear();
		this.conversations.clear();
	}
}

/**
 * The in-process store cannot be shared by queue-mode workers; call with n8n's EXECUTIONS_MODE.
 * Throws MemoryError('unsupported') in queue mode.
 */
export function assertSingleInstance(
	executionsMode: string | undefined = process.env.EXECUTIONS_MODE,
): void {
	if (executionsMode === 'queue') {
		throw new MemoryError(
			'The in-process memory store only works on a single n8n instance, and this n8n runs in queue mode (executions run on several workers that do not share memory). Choose the Redis or Postgres store (an OpenAgents Memory Store API credential).',
			'unsupported',
		);
	}
}
