/**
 * Knowledge bases as Chroma collections (one per knowledge base, cosine space, our own embeddings), through our
 * HTTP client of Chroma's API v2 (chroma-http, which says why it is ours). Every request runs under the caller's
 * retry policy, abort signal and timeout, and failures become RagErrors that name the knowledge base and the cause.
 */
import { randomUUID } from 'node:crypto';

import {
	errorChain,
	httpStatusOf,
	isRetryableError,
	messageOf,
	RetryExhaustedError,
	withRetry,
	type RetryPolicy,
} from '../retry';
import {
	type ChromaCollection,
	ChromaHttpClient,
	ChromaHttpError,
	DEFAULT_DATABASE,
	DEFAULT_TENANT,
	type Include,
	type Where,
} from './chroma-http';
import { RagError } from './errors';
import type { Metadata } from './metadata';
import {
	sharedKeywordIndex,
	type SharedKeywordIndex,
	type SharedKeywordIndexOptions,
} from './shared-keyword-index';

export interface ChromaConnection {
	/** Server root, e.g. http://127.0.0.1:8000, or with the path it is served under, e.g. https://proxy.example/chroma */
	url: string;
	/** Auth headers (Authorization: Bearer … or X-Chroma-Token). */
	headers?: Record<string, string>;
	tenant?: string;
	database?: string;
}

interface StoreCallOptions {
	policy: RetryPolicy;
	signal?: AbortSignal;
	/** Per-request time limit, ms (default 60 000). */
	timeoutMs?: number;
	/** Receives one line per retry. */
	log?: (line: string) => void;
	/** Records per page when reading a whole collection (default 10 000); lower it for a server that caps pages. */
	scanPageSize?: number;
	/** Keep keyword search's index in Redis, once for every process (shared-keyword-index.ts), not in each process. */
	keywordIndex?: SharedKeywordIndexOptions;
}

/**
 * Records per Chroma write. Larger writes cost Chroma less per record (measured on Chroma 1.0, 3 243 chunks of 1 000
 * characters, 256 dimensions: 100 per write 4.2 s, 250 per write 3.8 s, 1 000 per write 3.5 s); 250 keeps a write
 * of 1 536-dimension vectors near 4 MB of JSON.
 */
export const DEFAULT_UPSERT_BATCH_SIZE = 250;
/** Records per request when reading chunks by id. */
const PAGE_SIZE = 1000;
/**
 * Records per page when reading a whole collection (or all chunks matching a filter). Chroma skips `offset` records for
 * every page, so a page costs more the further it starts (Chroma 1.0, 1 000 000 chunks: 1 000 chunks with their text
 * 0.17 s at offset 1 000, 0.66 s at offset 500 000; 10 000 at offset 500 000 0.97 s), and a full read with pages ten
 * times larger makes ten times fewer of those skips.
 */
const SCAN_PAGE_SIZE = 10_000;
/** Sources per `$in` filter when looking up existing chunks. */
const SOURCES_PER_LOOKUP = 100;

/**
 * Chroma collection naming rules: 3–512 characters from [a-zA-Z0-9._-], starting and ending with a letter or digit,
 * no "..", not an IPv4 address. Throws RagError INVALID_NAME saying which rule failed.
 */
function checkKnowledgeBaseName(name: string): string {
	const fail = (why: string) => {
		throw new RagError('INVALID_NAME', `Invalid knowledge base name "${name}": ${why}`);
	};
	if (name.length < 3 || name.length > 512) fail('use 3 to 512 characters');
	if (!/^[A-Za-z0-9._-]+$/.test(name)) fail('use only letters, digits, ".", "_" and "-"');
	if (!/^[A-Za-z0-9].*[A-Za-z0-9]$/.test(name)) fail('start and end with a letter or digit');
	if (name.includes('..')) fail('do not use ".."');
	if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) fail('an IPv4 address is not allowed');
	return name;
}

function rootCause(error: unknown): unknown {
	return error instanceof RetryExhaustedError ? error.lastError : error;
}

export interface ChunkRecord {
	id: string;
	text: string;
	embedding: number[];
	metadata: Metadata;
}

export interface QueryMatch {
	id: string;
	text: string;
	metadata: Metadata;
	/** Cosine similarity, 1 − cosine distance. */
	score: number;
	embedding?: number[];
}

/** A connection to one Chroma tenant/database. */
export class ChromaKnowledgeStore {
	readonly client: ChromaHttpClient;

	/** Throws TypeError when the connection's URL is not a URL. */
	constructor(
		readonly connection: ChromaConnection,
		readonly options: StoreCallOptions,
	) {
		this.client = new ChromaHttpClient(connection);
	}

	/**
	 * Runs one Chroma request under the retry policy; `fn` gets the attempt's signal (aborted on the caller's abort or
	 * the attempt's timeout) to pass to the request. Errors become RagErrors (`what` names the action).
	 */
	async call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
		try {
			return await withRetry(({ signal }) => fn(signal), this.options.policy, {
				signal: this.options.signal,
				timeoutMs: this.options.timeoutMs ?? 60_000,
				onRetry: ({ attempt, error, delayMs }) =>
					this.options.log?.(
						`Chroma: ${what} failed (attempt ${attempt}), retrying in ${Math.round(delayMs)} ms: ${messageOf(error)}`,
					),
			});
		} catch (error) {
			if (error instanceof RagError || this.options.signal?.aborted) throw error;
			const cause = rootCause(error);
			const attempts =
				error instanceof RetryExhaustedError ? ` after ${error.attempts.length} attempts` : '';
			const status = httpStatusOf(cause);
			// Unreachable: no answer (connection refused or dropped, attempt timed out); an HTTP answer is Chroma's failure.
			if (
				errorChain(cause).some((e) => e.name === 'ChromaConnectionError') ||
				(isRetryableError(cause) && status === undefined)
			) {
				throw new RagError(
					'STORE_UNAVAILABLE',
					`Cannot reach Chroma at ${this.connection.url} to ${what}${attempts}: ${messageOf(cause)}`,
					{ cause: error },
				);
			}
			if (status === 401 || status === 403) {
				throw new RagError(
					'STORE_ERROR',
					`Chroma refused the credential to ${what}: ${messageOf(cause)} (check the token and its tenant/database)`,
					{ cause: error },
				);
			}
			throw new RagError(
				'STORE_ERROR',
				`Chroma failed to ${what}${attempts}: ${messageOf(cause)}`,
				{ cause: error },
			);
		}
	}

	/**
	 * The knowledge base's collection. `create: true` creates it (cosine space) when missing; otherwise a missing one
	 * throws RagError UNKNOWN_KNOWLEDGE_BASE listing the existing names.
	 */
	async open(name: string, { create = false } = {}): Promise<KnowledgeBaseCollection> {
		checkKnowledgeBaseName(name);
		if (create) {
			const collection = await this.call(`create knowledge base "${name}"`, (signal) =>
				this.client.getOrCreateCollection(
					{ name, metadata: { 'hnsw:space': 'cosine' } },
					{ signal },
				),
			);
			return new KnowledgeBaseCollection(this, name, collection);
		}
		const collection = await this.call(`open knowledge base "${name}"`, async (signal) => {
			try {
				return await this.client.getCollection(name, { signal });
			} catch (error) {
				if (isMissingCollection(error)) return undefined;
				throw error;
			}
		});
		if (!collection) {
			const known = await this.list();
			throw new RagError(
				'UNKNOWN_KNOWLEDGE_BASE',
				`Knowledge base "${name}" does not exist in ${this.where()}${known.length ? ` (existing: ${known.slice(0, 20).join(', ')})` : ''}; ingest documents into it first`,
			);
		}
		return new KnowledgeBaseCollection(this, name, collection);
	}

	/** Names of the knowledge bases (collections) in this tenant/database, sorted. */
	async list(): Promise<string[]> {
		return (await this.collections()).map((c) => c.name).sort();
	}

	private async collections(): Promise<ChromaCollection[]> {
		const all: ChromaCollection[] = [];
		for (let offset = 0; ; offset += 100) {
			const page = await this.call('list knowledge bases', (signal) =>
				this.client.listCollections({ limit: 100, offset }, { signal }),
			);
			all.push(...page);
			if (page.length < 100) return all;
		}
	}

	/**
	 * Knowledge bases whose name contains `filter` (case-insensitive), sorted by name, each with its chunk count:
	 * { name, chunks }[]. One count request per listed knowledge base; `limit` caps how many are counted.
	 */
	async summaries(filter = '', limit = 100): Promise<Array<{ name: string; chunks: number }>> {
		const needle = filter.trim().toLowerCase();
		const matches = (await this.collections())
			.filter((c) => c.name.toLowerCase().includes(needle))
			.sort((a, b) => a.name.localeCompare(b.name))
			.slice(0, limit);
		return Promise.all(
			matches.map(async (c) => ({
				name: c.name,
				chunks: await this.call(`count the chunks of "${c.name}"`, (signal) => c.count({ signal })),
			})),
		);
	}

	/** Deletes a knowledge base with all its chunks (and its shared keyword index, when the store has one). */
	async drop(name: string): Promise<void> {
		checkKnowledgeBaseName(name);
		const index = this.options.keywordIndex && (await this.open(name)).sharedKeywordIndex();
		await this.call(`delete knowledge base "${name}"`, (signal) =>
			this.client.deleteCollection(name, { signal }),
		);
		await index?.drop();
	}

	where(): string {
		return `tenant "${this.connection.tenant || DEFAULT_TENANT}", database "${this.connection.database || DEFAULT_DATABASE}"`;
	}
}

/** Whether Chroma said the collection does not exist: a 404, or the message older servers send with other statuses. */
function isMissingCollection(error: unknown): boolean {
	return (
		(error instanceof ChromaHttpError && error.status === 404) ||
		errorChain(error).some((e) => /does not exist|not found/i.test(String(e.message)))
	);
}

/** `markChanged: false` leaves marking the knowledge base changed to the caller, once after several writes. */
interface WriteOptions {
	markChanged?: boolean;
}

/** Collection metadata key of the knowledge base's revision: a random token every write of ours replaces. */
const REVISION_KEY = 'openagents:revision';

/** A stored chunk read back by id. */
export interface StoredChunk {
	id: string;
	text: string;
	metadata: Metadata;
	embedding?: number[];
}

/** One knowledge base: chunk records with our ids, our embeddings and metadata `source`. */
export class KnowledgeBaseCollection {
	constructor(
		private readonly store: ChromaKnowledgeStore,
		readonly name: string,
		readonly collection: ChromaCollection,
	) {}

	private call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
		return this.store.call(`${what} in knowledge base "${this.name}"`, fn);
	}

	/** Identifies this collection across processes: server, tenant, database and collection id. */
	cacheKey(): string {
		const { url, tenant, database } = this.store.connection;
		return [url, tenant ?? '', database ?? '', this.collection.id].join('|');
	}

	/** The keyword index shared in Redis, when the store was opened with one (else each process keeps its own). */
	sharedKeywordIndex(): SharedKeywordIndex | undefined {
		const shared = this.store.options.keywordIndex;
		return shared && sharedKeywordIndex(shared, this.collection.id);
	}

	/**
	 * The knowledge base's revision as of opening it: the token the last write of ours left, or, for a collection
	 * written only by other tools, its chunk count (so additions and deletions still show).
	 */
	async revision(): Promise<string> {
		const token = this.collection.metadata?.[REVISION_KEY];
		return typeof token === 'string' ? token : `count:${await this.count()}`;
	}

	/**
	 * Records that the chunks changed (call after every write), so every process's keyword index re-syncs. With a
	 * shared keyword index that took every write since the last call (see indexToUpdate), the index moves to the new
	 * revision with the collection, so no process re-reads the change; the revision it moves from is read from Chroma
	 * just before, so a write by another tool that landed meanwhile is not skipped.
	 */
	async markChanged(): Promise<void> {
		if (this.store.options.keywordIndex) {
			const current = await this.call('read the revision', (signal) =>
				this.store.client.getCollection(this.name, { signal }),
			);
			this.collection.metadata = current.metadata;
		}
		const previous = this.collection.metadata?.[REVISION_KEY];
		const token = randomUUID();
		const metadata = { ...(this.collection.metadata ?? {}), [REVISION_KEY]: token };
		await this.call('record a change', (signal) =>
			this.collection.modify({ metadata }, { signal }),
		);
		if (typeof previous === 'string' && !this.unindexedWrites) {
			await this.indexToUpdate((index) => index.advance(previous, token));
		}
		this.unindexedWrites = false;
	}

	/** Whether a write since the last markChanged did not reach the shared keyword index (then a sync must read it). */
	private unindexedWrites = false;

	/**
	 * Keeps the shared keyword index (when the store has one and it was built) up to date with a write just made to
	 * Chroma. Best effort: when the index is not built yet or Redis fails, the write is left to the next sync.
	 */
	private async indexToUpdate(update: (index: SharedKeywordIndex) => Promise<void>): Promise<void> {
		const index = this.sharedKeywordIndex();
		if (!index || this.unindexedWrites) return;
		try {
			if (await index.built()) await update(index);
			else this.unindexedWrites = true;
		} catch (error) {
			this.unindexedWrites = true;
			this.store.options.log?.(
				`Shared keyword index: a write of knowledge base "${this.name}" is left to the next sync: ${messageOf(error)}`,
			);
		}
	}

	/** Visits every chunk (text and metadata), a page (scanPageSize, default 10 000) at a time. */
	async forEachChunk(visit: (chunks: StoredChunk[]) => void | Promise<void>): Promise<void> {
		await this.forEachPage(
			'read chunks',
			undefined,
			['documents', 'metadatas'],
			async (ids, metadatas, documents) =>
				await visit(
					ids.map((id, j) => ({
						id,
						text: documents?.[j] ?? '',
						metadata: (metadatas?.[j] ?? {}) as Metadata,
					})),
				),
		);
	}

	/** Every chunk id, in pages. */
	async allIds(): Promise<string[]> {
		const ids: string[] = [];
		await this.forEachPage('list chunks', undefined, [], (page) => void ids.push(...page));
		return ids;
	}

	/**
	 * The chunks with these ids that exist (and match `where`, when given), with their metadata, and their text and
	 * embeddings when asked for; in no particular order. One request per 1000 ids.
	 */
	async getByIds(
		ids: readonly string[],
		{
			where,
			documents = false,
			embeddings = false,
		}: { where?: Where; documents?: boolean; embeddings?: boolean } = {},
	): Promise<StoredChunk[]> {
		const include: Include[] = [
			'metadatas',
			...(documents ? (['documents'] as const) : []),
			...(embeddings ? (['embeddings'] as const) : []),
		];
		const out: StoredChunk[] = [];
		for (let i = 0; i < ids.length; i += PAGE_SIZE) {
			const page = await this.call('read chunks', (signal) =>
				this.collection.get({ ids: ids.slice(i, i + PAGE_SIZE), where, include }, { signal }),
			);
			page.ids.forEach((id, j) =>
				out.push({
					id,
					text: page.documents?.[j] ?? '',
					metadata: (page.metadatas?.[j] ?? {}) as Metadata,
					...(embeddings ? { embedding: Array.from(page.embeddings?.[j] ?? []) } : {}),
				}),
			);
		}
		return out;
	}

	/**
	 * Dimension of the stored vectors, or undefined while the knowledge base is empty: as Chroma reported it when the
	 * collection was opened (1.0 and later), else read from one record (so a first write by another process since
	 * opening is still seen).
	 */
	async dimension(): Promise<number | undefined> {
		if (typeof this.collection.dimension === 'number') return this.collection.dimension;
		const peek = await this.call('read a vector', (signal) =>
			this.collection.get({ limit: 1, include: ['embeddings'] }, { signal }),
		);
		return peek.embeddings?.[0]?.length;
	}

	/** Ids of the stored chunks of each given source (sources without chunks are absent). */
	async idsBySource(sources: readonly string[]): Promise<Map<string, string[]>> {
		const out = new Map<string, string[]>();
		for (const [source, chunks] of await this.chunksBySource(sources))
			out.set(source, [...chunks.keys()]);
		return out;
	}

	/** The stored chunks of each given source: id → metadata (sources without chunks are absent). */
	async chunksBySource(
		sources: readonly string[],
	): Promise<Map<string, Map<string, Record<string, unknown>>>> {
		const out = new Map<string, Map<string, Record<string, unknown>>>();
		for (let i = 0; i < sources.length; i += SOURCES_PER_LOOKUP) {
			const batch = sources.slice(i, i + SOURCES_PER_LOOKUP);
			const where: Where = batch.length === 1 ? { source: batch[0] } : { source: { $in: batch } };
			await this.forEachPage('look up existing chunks', where, ['metadatas'], (ids, metadatas) => {
				ids.forEach((id, j) => {
					const metadata = metadatas?.[j] ?? {};
					const source = String(metadata.source ?? '');
					if (!out.has(source)) out.set(source, new Map());
					out.get(source)!.set(id, metadata);
				});
			});
		}
		return out;
	}

	/**
	 * Replaces the metadata of stored chunks, keeping their text and vector, in batches; then marks the knowledge base
	 * changed. Chroma merges metadata on update and upsert, so a chunk that loses a key is read, deleted and written
	 * again (a failure in between leaves it missing until the next ingest of its source adds it back).
	 */
	async replaceMetadata(
		records: ReadonlyArray<{ id: string; metadata: Metadata; previous: Record<string, unknown> }>,
		batchSize = DEFAULT_UPSERT_BATCH_SIZE,
		{ markChanged = true }: WriteOptions = {},
	): Promise<void> {
		const losesKey = (r: (typeof records)[number]) =>
			Object.keys(r.previous).some((key) => !(key in r.metadata));
		const merged = records.filter((r) => !losesKey(r));
		for (let i = 0; i < merged.length; i += batchSize) {
			const batch = merged.slice(i, i + batchSize);
			await this.call(`update the metadata of ${batch.length} chunks`, (signal) =>
				this.collection.update(
					{ ids: batch.map((r) => r.id), metadatas: batch.map((r) => r.metadata) },
					{ signal },
				),
			);
		}
		const rewritten = records.filter(losesKey);
		const next = new Map(rewritten.map((r) => [r.id, r.metadata]));
		for (let i = 0; i < rewritten.length; i += batchSize) {
			const stored = await this.getByIds(
				rewritten.slice(i, i + batchSize).map((r) => r.id),
				{ documents: true, embeddings: true },
			);
			await this.call(`delete ${stored.length} chunks to rewrite their metadata`, (signal) =>
				this.collection.delete({ ids: stored.map((c) => c.id) }, { signal }),
			);
			await this.call(`rewrite ${stored.length} chunks`, (signal) =>
				this.collection.add(
					{
						ids: stored.map((c) => c.id),
						embeddings: stored.map((c) => c.embedding!),
						documents: stored.map((c) => c.text),
						metadatas: stored.map((c) => next.get(c.id)!),
					},
					{ signal },
				),
			);
		}
		if (records.length && markChanged) await this.markChanged();
	}

	/** Ids of all chunks matching a metadata filter (Chroma `where`). */
	async idsWhere(where: Where): Promise<string[]> {
		const ids: string[] = [];
		await this.forEachPage('find chunks', where, [], (page) => void ids.push(...page));
		return ids;
	}

	/** Chunk count per source, over the whole knowledge base. */
	async sourceCounts(): Promise<Map<string, number>> {
		const counts = new Map<string, number>();
		await this.forEachPage('read chunk metadata', undefined, ['metadatas'], (ids, metadatas) => {
			ids.forEach((_, j) => {
				const source = String(metadatas?.[j]?.source ?? '');
				counts.set(source, (counts.get(source) ?? 0) + 1);
			});
		});
		return counts;
	}

	private async forEachPage(
		what: string,
		where: Where | undefined,
		include: Include[],
		visit: (
			ids: string[],
			metadatas: Array<Record<string, unknown> | null> | undefined,
			documents: Array<string | null> | undefined,
		) => void | Promise<void>,
	): Promise<void> {
		const limit = this.store.options.scanPageSize ?? SCAN_PAGE_SIZE;
		for (let offset = 0; ; offset += limit) {
			const page = await this.call(what, (signal) =>
				this.collection.get({ where, limit, offset, include }, { signal }),
			);
			await visit(page.ids, page.metadatas, page.documents);
			if (page.ids.length < limit) return;
		}
	}

	/**
	 * Upserts records in batches of `batchSize` (each batch one request, retried as a whole: upsert is idempotent),
	 * then marks the knowledge base changed.
	 */
	async upsert(
		records: readonly ChunkRecord[],
		batchSize = DEFAULT_UPSERT_BATCH_SIZE,
		{ markChanged = true }: WriteOptions = {},
	): Promise<number> {
		let requests = 0;
		for (let i = 0; i < records.length; i += batchSize) {
			const batch = records.slice(i, i + batchSize);
			await this.call(`upsert ${batch.length} chunks`, (signal) =>
				this.collection.upsert(
					{
						ids: batch.map((r) => r.id),
						embeddings: batch.map((r) => r.embedding),
						metadatas: batch.map((r) => r.metadata),
						documents: batch.map((r) => r.text),
					},
					{ signal },
				),
			);
			await this.indexToUpdate((index) => index.add(batch));
			requests++;
		}
		if (requests && markChanged) await this.markChanged();
		return requests;
	}

	/** Deletes records by id in batches, then marks the knowledge base changed. */
	async deleteIds(
		ids: readonly string[],
		batchSize = DEFAULT_UPSERT_BATCH_SIZE,
		{ markChanged = true }: WriteOptions = {},
	): Promise<void> {
		for (let i = 0; i < ids.length; i += batchSize) {
			const batch = ids.slice(i, i + batchSize);
			await this.call(`delete ${batch.length} chunks`, (signal) =>
				this.collection.delete({ ids: batch }, { signal }),
			);
			await this.indexToUpdate((index) => index.remove(batch));
		}
		if (ids.length && markChanged) await this.markChanged();
	}

	/** Nearest `n` chunks to `embedding` by cosine distance, optionally filtered; closest first. */
	async query(
		embedding: number[],
		n: number,
		where?: Where,
		withEmbeddings = false,
	): Promise<QueryMatch[]> {
		const include: Include[] = [
			'documents',
			'metadatas',
			'distances',
			...(withEmbeddings ? (['embeddings'] as const) : []),
		];
		const result = await this.call('search', (signal) =>
			this.collection.query(
				{ queryEmbeddings: [embedding], nResults: n, where, include },
				{ signal },
			),
		);
		return (result.ids[0] ?? []).map((id, i) => ({
			id,
			text: result.documents[0]?.[i] ?? '',
			metadata: (result.metadatas[0]?.[i] ?? {}) as Metadata,
			score: 1 - (result.distances?.[0]?.[i] ?? 1),
			...(withEmbeddings ? { embedding: Array.from(result.embeddings?.[0]?.[i] ?? []) } : {}),
		}));
	}

	async count(): Promise<number> {
		return this.call('count chunks', (signal) => this.collection.count({ signal }));
	}
}
