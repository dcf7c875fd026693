/**
 * A small typed client of Chroma's HTTP API v2, on Node's fetch: the calls lib/rag makes (collections get, create,
 * list, modify and delete; records add, upsert, update, get, delete, query and count; heartbeat) and nothing else.
 *
 * Why our own rather than the official `chromadb` package: that package lists Chroma's native *server*
 * (`chromadb-js-bindings-<platform>`, 51 MB on linux-x64) as an optional dependency, and n8n's community-package
 * installer installs the optional dependencies of dependencies, so the client alone was a quarter of this package's
 * install (53 of 202 MB, over the 150 MB budget). We use a dozen REST calls; this file is those calls, written from
 * chromadb 3.5.0's generated API (src/api/sdk.gen.ts, types.gen.ts), its fetch wrapper (chroma-fetch.ts) and its
 * Collection (collection.ts), and checked against Chroma server 1.0. Keep it that small: anything more and the
 * official client (with its server binary kept out of the install) would be worth having back.
 *
 * What it keeps from chromadb 3.5.0: default tenant "default_tenant" and database "default_database"; collections
 * addressed by name in the collection routes and by id in the record routes; `include` sent on every get and query;
 * embeddings sent as base64 float32 (little-endian) when the server's pre-flight checks say it supports that (roughly
 * a quarter of the JSON), and a write larger than the server's max_batch_size refused before sending; null metadata
 * values dropped on writes; absent result arrays read as [].
 *
 * What it does differently: every call takes an AbortSignal; errors keep the HTTP status, Chroma's error type and
 * message, and the response headers (so lib/retry classifies them by status and honours Retry-After) instead of
 * one class per status with a fixed message.
 */

import { encodeVector } from '../vectors';

/** Chroma's defaults when a connection names no tenant or database (as chromadb's DEFAULT_TENANT/DEFAULT_DATABASE). */
export const DEFAULT_TENANT = 'default_tenant';
export const DEFAULT_DATABASE = 'default_database';

/** A metadata value as Chroma 1.0 stores it (a record without metadata reads back as null, see GetResult). */
type ChromaMetadataValue = string | number | boolean;
type ChromaMetadata = Record<string, ChromaMetadataValue>;

/** A value a metadata filter compares with. */
type WhereValue = string | number | boolean;

/** One field's condition: equality, order (numbers), or membership. */
type WhereOperator =
	| { $eq: WhereValue }
	| { $ne: WhereValue }
	| { $gt: number }
	| { $gte: number }
	| { $lt: number }
	| { $lte: number }
	| { $in: WhereValue[] }
	| { $nin: WhereValue[] };

/**
 * Chroma's metadata filter (`where`): `{ field: value }` (equality), `{ field: { $op: value } }`, or `{ $and: [...] }`
 * / `{ $or: [...] }` of filters. One key per object; conditions on several fields go in an `$and`.
 * E.g. `{ $and: [{ source: { $in: ['a.md', 'b.md'] } }, { year: { $gte: 2024 } }] }`.
 */
export type Where =
	{ $and: Where[] } | { $or: Where[] } | { [field: string]: WhereValue | WhereOperator };

/** Fields a get or query returns besides ids ('distances' only from query). */
export type Include = 'documents' | 'embeddings' | 'metadatas' | 'distances' | 'uris';

/** Per-call options. */
interface RequestOptions {
	/** Aborts the request; the call then rejects with the signal's reason. */
	signal?: AbortSignal;
}

interface ChromaHttpOptions {
	/** Server root, e.g. http://127.0.0.1:8000, or with the path it is served under, e.g. https://proxy.example/chroma */
	url: string;
	/** Sent with every request, e.g. auth headers (see chroma-auth). */
	headers?: Record<string, string>;
	/** Default "default_tenant". */
	tenant?: string;
	/** Default "default_database". */
	database?: string;
}

/** A collection as the server describes it (Chroma's `Collection` schema, the fields we read). */
interface CollectionModel {
	id: string;
	name: string;
	tenant: string;
	database: string;
	metadata?: ChromaMetadata | null;
	/** Length of the stored vectors; null until the first record. */
	dimension?: number | null;
}

/** GET /api/v2/pre-flight-checks. */
interface PreFlightChecks {
	/** Records per write the server accepts. */
	max_batch_size: number;
	/** Whether embeddings may be sent as base64 float32. */
	supports_base64_encoding: boolean;
}

/** Records to write; the arrays are parallel to `ids`. */
interface RecordSet {
	ids: string[];
	embeddings?: number[][];
	metadatas?: ChromaMetadata[];
	documents?: string[];
}

/** Records read by get: arrays parallel to `ids`; a field not included is []. */
interface GetResult {
	ids: string[];
	documents: Array<string | null>;
	metadatas: Array<ChromaMetadata | null>;
	embeddings: number[][];
	include: Include[];
}

/** Nearest records per query embedding: the outer arrays have one entry per query embedding, closest first. */
interface QueryResult {
	ids: string[][];
	documents: Array<Array<string | null>>;
	metadatas: Array<Array<ChromaMetadata | null>>;
	embeddings: Array<Array<number[] | null>>;
	/** In the collection's space: cosine distance (1 − cosine similarity) for ours. */
	distances: Array<Array<number | null>>;
	include: Include[];
}

/** No HTTP response: connection refused or reset, DNS, TLS, or the connection dropped while reading the body. */
export class ChromaConnectionError extends Error {
	// This name is also what lib/retry's classifier knows as a retryable Chroma failure.
	override name = 'ChromaConnectionError';
}

/** Chroma (or a proxy before it) answered with a non-2xx status, or with a 2xx body that is not JSON. */
export class ChromaHttpError extends Error {
	override name = 'ChromaHttpError';

	constructor(
		/** HTTP status, e.g. 404. */
		readonly status: number,
		/** Chroma's error type from the body, e.g. "NotFoundError", "InvalidArgumentError"; absent without a body. */
		readonly type: string | undefined,
		message: string,
		/** The response headers (lib/retry reads Retry-After from them). */
		readonly headers: Headers,
	) {
		super(message);
	}
}

/** Chroma's error body: { error: type, message }. */
function errorFrom(response: Response, text: string): ChromaHttpError {
	let body: { error?: unknown; message?: unknown } | undefined;
	try {
		body = JSON.parse(text) as typeof body;
	} catch {
		body = undefined;
	}
	const type = typeof body?.error === 'string' ? body.error : undefined;
	const detail =
		(typeof body?.message === 'string' && body.message) ||
		type ||
		text.trim().slice(0, 200) ||
		response.statusText ||
		'no message';
	return new ChromaHttpError(
		response.status,
		type,
		`${detail} (HTTP ${response.status}${type ? ` ${type}` : ''})`,
		response.headers,
	);
}

/**
 * Network error codes in plain words. ChromaConnectionError says these rather than the code: n8n replaces a node
 * error's whole message when it contains a code such as ECONNREFUSED with its own generic sentence, which would drop
 * the server and the action our message names. The code stays on the error's cause (lib/retry classifies by it).
 */
const NETWORK_FAILURES: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset by the server',
	ECONNABORTED: 'connection aborted',
	ETIMEDOUT: 'connection timed out',
	EHOSTUNREACH: 'host unreachable',
	ENETUNREACH: 'network unreachable',
	EADDRNOTAVAIL: 'address not available',
	ENOTFOUND: 'host not found',
	EAI_AGAIN: 'host name lookup failed',
	EPIPE: 'connection closed by the server',
	UND_ERR_SOCKET: 'connection closed by the server',
	UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
	UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
	UND_ERR_BODY_TIMEOUT: 'no answer in time',
};

/**
 * Why fetch got no answer, e.g. "connection refused (127.0.0.1:8000)", from the network error in its causes (undici
 * reports a host with several addresses as an AggregateError); else the causes' messages ("fetch failed: bad port").
 * Read by shape: fetch's errors may come from another realm (e.g. under Jest), where instanceof Error is false.
 */
function connectionFailure(error: unknown): string {
	type ErrorLike = {
		message?: unknown;
		cause?: unknown;
		errors?: unknown;
		code?: unknown;
		address?: unknown;
		port?: unknown;
		hostname?: unknown;
	};
	const chain: ErrorLike[] = [];
	const visit = (e: unknown, depth: number) => {
		if (!e || typeof e !== 'object' || depth > 4) return;
		const like = e as ErrorLike;
		chain.push(like);
		if (Array.isArray(like.errors)) for (const inner of like.errors) visit(inner, depth + 1);
		visit(like.cause, depth + 1);
	};
	visit(error, 0);
	const network = chain.find(
		(e) => typeof e.code === 'string' && Object.hasOwn(NETWORK_FAILURES, e.code),
	);
	if (network) {
		const at =
			typeof network.address === 'string'
				? `${network.address}${network.port ? `:${String(network.port)}` : ''}`
				: typeof network.hostname === 'string'
					? network.hostname
					: '';
		return `${NETWORK_FAILURES[network.code as string]}${at ? ` (${at})` : ''}`;
	}
	const messages = chain.map((e) => (typeof e.message === 'string' ? e.message : ''));
	return [...new Set(messages.filter(Boolean))].join(': ') || String(error);
}

/** Metadata with null and undefined values left out (chromadb's serializeMetadata; a null would delete the key). */
function withoutNulls(metadata: ChromaMetadata): ChromaMetadata {
	return Object.fromEntries(
		Object.entries(metadata).filter(([, value]) => value !== null && value !== undefined),
	);
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * Pre-flight checks by server root, for the process: a server's batch limit and encodings are the server's, not a
 * client's, and every n8n execution makes a new client (asking each time cost a round trip before every write).
 */
const preFlightChecksByRoot = new Map<string, PreFlightChecks>();

/** One Chroma server, tenant and database. */
export class ChromaHttpClient {
	readonly tenant: string;
	readonly database: string;
	/** Origin plus the path the server is served under, without a trailing slash. */
	private readonly root: string;
	private readonly headers: Record<string, string>;

	/** Throws TypeError when `url` is not a URL. */
	constructor(options: ChromaHttpOptions) {
		const url = new URL(options.url);
		this.root = url.origin + url.pathname.replace(/\/+$/, '');
		this.headers = { ...options.headers };
		this.tenant = options.tenant || DEFAULT_TENANT;
		this.database = options.database || DEFAULT_DATABASE;
	}

	/**
	 * One request to `/api/v2<path>`, JSON in and out. Resolves with the parsed body (undefined when empty). Rejects
	 * with the signal's reason when aborted, ChromaConnectionError without a response, ChromaHttpError on a non-2xx
	 * status or a 2xx body that is not JSON.
	 */
	async request<T>(
		method: Method,
		path: string,
		{
			query,
			body,
			signal,
		}: { query?: Record<string, string | number>; body?: unknown } & RequestOptions = {},
	): Promise<T> {
		const search = query
			? `?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`
			: '';
		const url = `${this.root}/api/v2${path}${search}`;
		let response: Response;
		let text: string;
		try {
			response = await fetch(url, {
				method,
				headers:
					body === undefined
						? this.headers
						: { ...this.headers, 'Content-Type': 'application/json' },
				body: body === undefined ? undefined : JSON.stringify(body),
				signal,
			});
			text = await response.text();
		} catch (error) {
			// An abort rejects with the signal's reason, as callers (lib/retry) expect; anything else means no answer.
			if (signal?.aborted) throw error;
			throw new ChromaConnectionError(connectionFailure(error), { cause: error });
		}
		if (!response.ok) throw errorFrom(response, text);
		if (!text) return undefined as T;
		try {
			return JSON.parse(text) as T;
		} catch {
			throw new ChromaHttpError(
				response.status,
				undefined,
				`${method} ${url} answered ${response.status} with a body that is not JSON: ${text.trim().slice(0, 200)}`,
				response.headers,
			);
		}
	}

	/** Path of this client's tenant/database. */
	databasePath(): string {
		return `/tenants/${encodeURIComponent(this.tenant)}/databases/${encodeURIComponent(this.database)}`;
	}

	/** GET /heartbeat: the server's clock in nanoseconds since the epoch (proves it answers). */
	async heartbeat(options: RequestOptions = {}): Promise<number> {
		const data = await this.request<{ 'nanosecond heartbeat': number }>(
			'GET',
			'/heartbeat',
			options,
		);
		return data['nanosecond heartbeat'];
	}

	/** GET /pre-flight-checks, asked once per server root in this process (chromadb asks once per client) and remembered. */
	async preFlightChecks(options: RequestOptions = {}): Promise<PreFlightChecks> {
		let checks = preFlightChecksByRoot.get(this.root);
		if (!checks) {
			checks = await this.request<PreFlightChecks>('GET', '/pre-flight-checks', options);
			preFlightChecksByRoot.set(this.root, checks);
		}
		return checks;
	}

	/** GET …/collections?limit&offset: one page of collections, in the server's order (creation). */
	async listCollections(
		{ limit = 100, offset = 0 }: { limit?: number; offset?: number } = {},
		options: RequestOptions = {},
	): Promise<ChromaCollection[]> {
		const page = await this.request<CollectionModel[]>(
			'GET',
			`${this.databasePath()}/collections`,
			{ ...options, query: { limit, offset } },
		);
		return page.map((model) => new ChromaCollection(this, model));
	}

	/** GET …/collections/{name}. A missing one rejects with ChromaHttpError 404 (type "NotFoundError"). */
	async getCollection(name: string, options: RequestOptions = {}): Promise<ChromaCollection> {
		const model = await this.request<CollectionModel>(
			'GET',
			`${this.databasePath()}/collections/${encodeURIComponent(name)}`,
			options,
		);
		return new ChromaCollection(this, model);
	}

	/**
	 * POST …/collections with get_or_create: the existing collection (its metadata unchanged), or a new one with
	 * `metadata` (e.g. { 'hnsw:space': 'cosine' } sets its distance). No embedding function: we send embeddings.
	 */
	async getOrCreateCollection(
		{ name, metadata }: { name: string; metadata?: ChromaMetadata },
		options: RequestOptions = {},
	): Promise<ChromaCollection> {
		const model = await this.request<CollectionModel>(
			'POST',
			`${this.databasePath()}/collections`,
			{
				...options,
				body: {
					name,
					configuration: {},
					metadata: metadata && withoutNulls(metadata),
					get_or_create: true,
				},
			},
		);
		return new ChromaCollection(this, model);
	}

	/** DELETE …/collections/{name}, with all its records. A missing one rejects with ChromaHttpError 404. */
	async deleteCollection(name: string, options: RequestOptions = {}): Promise<void> {
		await this.request(
			'DELETE',
			`${this.databasePath()}/collections/${encodeURIComponent(name)}`,
			options,
		);
	}
}

/** One collection's records (routes by collection id). Its `metadata` is as read, or as this handle last set it. */
export class ChromaCollection {
	readonly id: string;
	readonly name: string;
	metadata: ChromaMetadata | undefined;
	/**
	 * Length of the stored vectors as the server reported it when this collection was read: null while it had no record,
	 * undefined when the server does not report it (before Chroma 1.0).
	 */
	readonly dimension: number | null | undefined;
	private readonly path: string;

	constructor(
		private readonly client: ChromaHttpClient,
		model: CollectionModel,
	) {
		this.id = model.id;
		this.name = model.name;
		this.metadata = model.metadata ?? undefined;
		this.dimension = model.dimension;
		this.path = `${client.databasePath()}/collections/${encodeURIComponent(model.id)}`;
	}

	/** GET …/count: records in the collection. */
	count(options: RequestOptions = {}): Promise<number> {
		return this.client.request<number>('GET', `${this.path}/count`, options);
	}

	/** POST …/add: new records (Chroma ignores ids that exist). */
	add(records: RecordSet, options: RequestOptions = {}): Promise<void> {
		return this.write('add', records, options);
	}

	/** POST …/upsert: adds records or replaces them by id (metadata merged per key). */
	upsert(records: RecordSet, options: RequestOptions = {}): Promise<void> {
		return this.write('upsert', records, options);
	}

	/** POST …/update: changes existing records by id (metadata merged per key); unknown ids are ignored. */
	update(records: RecordSet, options: RequestOptions = {}): Promise<void> {
		return this.write('update', records, options);
	}

	/**
	 * POST …/get: records by id and/or metadata filter, a page at a time (`limit`, `offset`), with the `include`d
	 * fields (default documents and metadatas, as chromadb).
	 */
	async get(
		{
			ids,
			where,
			limit,
			offset,
			include = ['documents', 'metadatas'],
		}: { ids?: string[]; where?: Where; limit?: number; offset?: number; include?: Include[] } = {},
		options: RequestOptions = {},
	): Promise<GetResult> {
		const data = await this.client.request<Partial<GetResult> & { ids: string[] }>(
			'POST',
			`${this.path}/get`,
			{ ...options, body: { ids, where, limit, offset, include } },
		);
		return {
			ids: data.ids,
			documents: data.documents ?? [],
			metadatas: data.metadatas ?? [],
			embeddings: data.embeddings ?? [],
			include: data.include ?? include,
		};
	}

	/** POST …/delete: records by id and/or metadata filter. */
	async delete(
		{ ids, where }: { ids?: string[]; where?: Where },
		options: RequestOptions = {},
	): Promise<void> {
		await this.client.request('POST', `${this.path}/delete`, { ...options, body: { ids, where } });
	}

	/**
	 * POST …/query: the `nResults` nearest records to each query embedding (vectors of the collection's dimension, or
	 * ChromaHttpError 400), optionally filtered, with the `include`d fields (default metadatas, documents, distances).
	 */
	async query(
		{
			queryEmbeddings,
			nResults = 10,
			where,
			include = ['metadatas', 'documents', 'distances'],
		}: { queryEmbeddings: number[][]; nResults?: number; where?: Where; include?: Include[] },
		options: RequestOptions = {},
	): Promise<QueryResult> {
		const data = await this.client.request<Partial<QueryResult> & { ids?: string[][] }>(
			'POST',
			`${this.path}/query`,
			{
				...options,
				body: { query_embeddings: queryEmbeddings, n_results: nResults, where, include },
			},
		);
		return {
			ids: data.ids ?? [],
			documents: data.documents ?? [],
			metadatas: data.metadatas ?? [],
			embeddings: data.embeddings ?? [],
			distances: data.distances ?? [],
			include: data.include ?? include,
		};
	}

	/** PUT …/{id}: replaces the collection's metadata (send every key to keep, 'hnsw:space' included). */
	async modify(
		{ metadata }: { metadata: ChromaMetadata },
		options: RequestOptions = {},
	): Promise<void> {
		const next = withoutNulls(metadata);
		await this.client.request('PUT', this.path, { ...options, body: { new_metadata: next } });
		this.metadata = next;
	}

	/**
	 * add, upsert and update: refuses a write over the server's max_batch_size before sending it (RangeError, not
	 * retried), and sends embeddings as base64 float32 when the server supports it.
	 */
	private async write(
		route: 'add' | 'upsert' | 'update',
		{ ids, embeddings, metadatas, documents }: RecordSet,
		options: RequestOptions,
	): Promise<void> {
		const checks = await this.client.preFlightChecks(options);
		if (checks.max_batch_size > 0 && ids.length > checks.max_batch_size)
			throw new RangeError(
				`${ids.length} records in one write exceed the server's max_batch_size of ${checks.max_batch_size}`,
			);
		await this.client.request('POST', `${this.path}/${route}`, {
			...options,
			body: {
				ids,
				embeddings:
					embeddings && checks.supports_base64_encoding
						? embeddings.map(encodeVector) // chromadb's embeddingsToBase64Bytes
						: embeddings,
				metadatas: metadatas?.map(withoutNulls),
				documents,
			},
		});
	}
}
