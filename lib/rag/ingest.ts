/**
 * Idempotent ingest: chunk ids are content hashes (see chunkId), so for each source only chunks that are new get
 * embedded and written, chunks whose metadata changed get their metadata rewritten (not re-embedded), and chunks
 * the source no longer has are deleted. New chunks are written before stale ones
 * are deleted: a run that fails midway loses nothing, and a re-run finishes the job without duplicates.
 */
import { embedTexts, type DocumentEmbedder } from '../llm';
import { GEN_AI, inSpan, OPENAGENTS } from '../tracing';
import type { CallOptions } from '../llm';
import { chunkDocument, type Chunk, type ChunkingOptions } from './chunking';
import {
	DEFAULT_UPSERT_BATCH_SIZE,
	type ChunkRecord,
	type KnowledgeBaseCollection,
} from './chroma-store';
import { RagError } from './errors';
import { chunkId } from './ids';
import type { LoadedDocument } from './loaders';
import type { Metadata } from './metadata';

/**
 * Chunks per embeddings request when ingesting: n8n's Chroma Vector Store default, and within every common
 * provider's per-request limit (OpenAI: 2 048 inputs and 300 000 tokens, i.e. 200 chunks of up to 1 500 tokens).
 */
export const DEFAULT_EMBEDDING_BATCH_SIZE = 200;

export interface IngestOptions extends ChunkingOptions {
	/** Embedding calls: retry policy, signal, timeout, secrets. */
	embedding: CallOptions & {
		/** Texts per embeddings request (default DEFAULT_EMBEDDING_BATCH_SIZE, 200). */
		batchSize?: number;
		concurrency?: number;
		model?: string;
	};
	/** Records per Chroma upsert (default DEFAULT_UPSERT_BATCH_SIZE, 250). */
	upsertBatchSize?: number;
}

interface SourceResult {
	source: string;
	/** Distinct chunks the source has now. */
	chunks: number;
	/** New chunks (embedded and written). */
	added: number;
	/** Chunks whose text is unchanged but whose metadata (user metadata, offsets, page, format) changed: rewritten, not re-embedded. */
	updated: number;
	unchanged: number;
	removed: number;
}

interface IngestResult {
	sources: SourceResult[];
	added: number;
	updated: number;
	unchanged: number;
	removed: number;
	/** Embedding API requests made (0 when nothing changed). */
	embeddingCalls: number;
	/** Chroma upsert requests made. */
	upsertRequests: number;
}

function chunkMetadata(document: LoadedDocument, chunk: Chunk): Metadata {
	return {
		...document.metadata,
		source: document.source,
		format: document.format,
		chunkIndex: chunk.index,
		start: chunk.start,
		end: chunk.end,
		headingPath: chunk.headingPath,
		...(chunk.page !== undefined ? { page: chunk.page } : {}),
	};
}

/** Whether stored metadata (as Chroma returns it) equals the metadata a chunk would be written with now. */
function sameMetadata(stored: Record<string, unknown>, now: Metadata): boolean {
	const keys = new Set([...Object.keys(stored), ...Object.keys(now)]);
	return [...keys].every((key) => (stored[key] ?? null) === (now[key] ?? null));
}

/**
 * Ingests `documents` (distinct sources) into `kb`, traced as an `ingest {knowledge base}` span (documents, chunks,
 * added/updated/removed, embedding calls; one `embeddings` span per batch). Throws RagError INVALID_DOCUMENT on a repeated source,
 * DIMENSION_MISMATCH (before writing anything) when the embedding model's vectors differ in length from the ones
 * stored, STORE_* for Chroma failures, and embedding errors as lib/llm throws them.
 */
export function ingestDocuments(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	documents: readonly LoadedDocument[],
	options: IngestOptions,
): Promise<IngestResult> {
	return inSpan(
		`ingest ${kb.name}`,
		{ [GEN_AI.dataSourceId]: kb.name, [OPENAGENTS.kbDocuments]: documents.length },
		async (span) => {
			const result = await ingest(kb, embedder, documents, options);
			span.setAttributes({
				[OPENAGENTS.kbChunks]: result.sources.reduce((n, s) => n + s.chunks, 0),
				[OPENAGENTS.kbAdded]: result.added,
				[OPENAGENTS.kbUpdated]: result.updated,
				[OPENAGENTS.kbRemoved]: result.removed,
				[OPENAGENTS.kbEmbeddingCalls]: result.embeddingCalls,
			});
			return result;
		},
	);
}

/** A chunk to embed and write, with the metadata it is written with. */
type NewChunk = { id: string; text: string; metadata: Metadata };
/** A chunk whose metadata changed, with the metadata stored so far. */
type ChangedChunk = { id: string; metadata: Metadata; previous: Record<string, unknown> };
/** A document's distinct chunks by chunk id (repeated text in one source is stored once). */
type PlannedDocument = {
	document: LoadedDocument;
	records: Map<string, { chunk: Chunk; metadata: Metadata }>;
};

async function ingest(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	documents: readonly LoadedDocument[],
	options: IngestOptions,
): Promise<IngestResult> {
	assertDistinctSources(documents);
	// Chunking (CPU) while Chroma looks up what each source has stored (a round trip).
	const [planned, existing] = await Promise.all([
		Promise.all(documents.map((document) => planDocument(kb.name, document, options))),
		kb.chunksBySource(documents.map((d) => d.source)),
	]);
	const { sources, ...changes } = compareWithStored(planned, existing);
	const { embeddingCalls, upsertRequests } = await writeChanges(kb, embedder, changes, options);

	const sum = (key: 'added' | 'updated' | 'unchanged' | 'removed') =>
		sources.reduce((total, s) => total + s[key], 0);
	return {
		sources,
		added: sum('added'),
		updated: sum('updated'),
		unchanged: sum('unchanged'),
		removed: sum('removed'),
		embeddingCalls,
		upsertRequests,
	};
}

/** Throws RagError INVALID_DOCUMENT when two documents share a source (their chunks would replace each other). */
function assertDistinctSources(documents: readonly LoadedDocument[]): void {
	const seen = new Set<string>();
	for (const document of documents) {
		if (seen.has(document.source))
			throw new RagError(
				'INVALID_DOCUMENT',
				`Source "${document.source}" is given twice in one ingest; give each document its own source id`,
			);
		seen.add(document.source);
	}
}

/** The document's chunks under their content-hash ids, each with the metadata it is written with. */
async function planDocument(
	kbName: string,
	document: LoadedDocument,
	options: ChunkingOptions,
): Promise<PlannedDocument> {
	const records: PlannedDocument['records'] = new Map();
	for (const chunk of await chunkDocument(document, options)) {
		const id = chunkId(kbName, document.source, chunk.text, chunk.headingPath);
		if (!records.has(id)) records.set(id, { chunk, metadata: chunkMetadata(document, chunk) }); // repeated text in one source: stored once
	}
	return { document, records };
}

/**
 * Compares each document's chunks with the ones stored for its source (metadata by chunk id): the chunks to add,
 * those whose metadata to rewrite, the stale ids to delete, and the counts per source.
 */
function compareWithStored(
	planned: readonly PlannedDocument[],
	existing: Map<string, Map<string, Record<string, unknown>>>,
): { sources: SourceResult[]; toAdd: NewChunk[]; toUpdate: ChangedChunk[]; toRemove: string[] } {
	const toAdd: NewChunk[] = [];
	const toUpdate: ChangedChunk[] = [];
	const toRemove: string[] = [];
	const sources: SourceResult[] = planned.map(({ document, records }) => {
		const stored = existing.get(document.source) ?? new Map<string, Record<string, unknown>>();
		let added = 0;
		let updated = 0;
		for (const [id, { chunk, metadata }] of records) {
			const previous = stored.get(id);
			if (!previous) {
				toAdd.push({ id, text: chunk.text, metadata });
				added++;
			} else if (!sameMetadata(previous, metadata)) {
				toUpdate.push({ id, metadata, previous });
				updated++;
			}
		}
		const stale = [...stored.keys()].filter((id) => !records.has(id));
		toRemove.push(...stale);
		return {
			source: document.source,
			chunks: records.size,
			added,
			updated,
			unchanged: records.size - added - updated,
			removed: stale.length,
		};
	});
	return { sources, toAdd, toUpdate, toRemove };
}

/**
 * Writes the changes (new chunks first: a run that fails midway has deleted nothing yet), then marks the knowledge base
 * changed once, also after a partial write, so other processes' keyword indexes re-sync. Returns the embedding and
 * upsert requests made; rethrows the first failure.
 */
async function writeChanges(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	{
		toAdd,
		toUpdate,
		toRemove,
	}: { toAdd: NewChunk[]; toUpdate: ChangedChunk[]; toRemove: string[] },
	options: IngestOptions,
): Promise<{ embeddingCalls: number; upsertRequests: number }> {
	const requests = { embeddingCalls: 0, upsertRequests: 0 };
	const unmarked = { markChanged: false };
	let changed = false;
	let failure: unknown;
	try {
		if (toAdd.length) await embedAndWrite(kb, embedder, toAdd, options, requests);
		changed = toUpdate.length > 0;
		await kb.replaceMetadata(toUpdate, options.upsertBatchSize, unmarked);
		changed ||= toRemove.length > 0;
		await kb.deleteIds(toRemove, options.upsertBatchSize, unmarked);
	} catch (error) {
		failure = error;
	}
	if (changed || requests.upsertRequests > 0) {
		const marked = kb.markChanged();
		// After a failure, the failure is what the caller needs to see.
		await (failure === undefined ? marked : marked.catch(() => undefined));
	}
	if (failure !== undefined) throw failure;
	return requests;
}

/**
 * Embeds `toAdd` in batches and writes each batch's records as they come, counting the embedding and Chroma upsert
 * requests into `requests` (also when it throws: batches written before an error stay written). Throws
 * DIMENSION_MISMATCH before the first write, and embedding or store errors.
 */
async function embedAndWrite(
	kb: KnowledgeBaseCollection,
	embedder: DocumentEmbedder,
	toAdd: readonly NewChunk[],
	options: IngestOptions,
	requests: { embeddingCalls: number; upsertRequests: number },
): Promise<void> {
	const writer = new EmbeddedWriter(
		kb,
		options.upsertBatchSize ?? DEFAULT_UPSERT_BATCH_SIZE,
		options.embedding.model,
	);
	try {
		({ calls: requests.embeddingCalls } = await embedTexts(
			embedder,
			toAdd.map((r) => r.text),
			{
				...options.embedding,
				batchSize: options.embedding.batchSize ?? DEFAULT_EMBEDDING_BATCH_SIZE,
				onBatch: (vectors, start) =>
					writer.add(vectors.map((embedding, i) => ({ ...toAdd[start + i], embedding }))),
			},
		));
	} finally {
		await writer.finish();
		// Read after finish: a write still queued when the embedding ended counts too.
		requests.upsertRequests = writer.upsertRequests;
	}
}

/**
 * Writes embedded records while the next batches are embedded, one write at a time (Chroma gains nothing from
 * concurrent writes), each write taking every record embedded by then: fewer, larger writes cost Chroma less per
 * record. The stored dimension is read meanwhile and checked before the first write.
 */
class EmbeddedWriter {
	/** Chroma upsert requests made so far. */
	upsertRequests = 0;
	private readonly embedded: ChunkRecord[] = [];
	private readonly storedDimension: Promise<number | undefined>;
	private dimensionChecked = false;
	private writes: Promise<void> = Promise.resolve();

	constructor(
		private readonly kb: KnowledgeBaseCollection,
		private readonly upsertBatchSize: number,
		private readonly model: string | undefined,
	) {
		this.storedDimension = kb.dimension();
		this.storedDimension.catch(() => undefined); // awaited by the first write
	}

	/** Queues `records` for writing; resolves once they are written (rejects when a write fails). */
	add(records: ChunkRecord[]): Promise<void> {
		this.embedded.push(...records);
		return (this.writes = this.writes.then(() => this.writeEmbedded()));
	}

	/** Waits for the queued writes, failed or not. Written batches stay (upserts are idempotent). */
	async finish(): Promise<void> {
		await this.writes.catch(() => undefined);
	}

	private async writeEmbedded(): Promise<void> {
		if (!this.dimensionChecked && this.embedded.length) {
			const dimension = this.embedded[0].embedding.length;
			assertDimension(this.kb.name, await this.storedDimension, dimension, this.model);
			this.dimensionChecked = true;
		}
		while (this.embedded.length) {
			const records = this.embedded.splice(0, this.upsertBatchSize);
			this.upsertRequests += await this.kb.upsert(records, this.upsertBatchSize, {
				markChanged: false,
			});
		}
	}
}

/** Throws RagError DIMENSION_MISMATCH when the knowledge base holds vectors of another length. */
function assertDimension(
	name: string,
	stored: number | undefined,
	dimension: number,
	model?: string,
): void {
	if (stored !== undefined && stored !== dimension) {
		throw new RagError(
			'DIMENSION_MISMATCH',
			`Embedding dimension mismatch: knowledge base "${name}" holds ${stored}-dimensional vectors, but the embedding model${model ? ` "${model}"` : ''} returned ${dimension}. Use the embedding model the knowledge base was built with, or ingest into a new knowledge base.`,
		);
	}
}
