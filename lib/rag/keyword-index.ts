/**
 * Keyword search: Okapi BM25 (see bm25.ts) over each chunk's source, heading path and text.
 *
 * Where the index lives: Chroma holds every chunk and stays the only copy that matters. Each process keeps an
 * in-memory index per knowledge base, built from Chroma on first use and brought up to date (chunks added or
 * removed since) whenever the knowledge base's revision differs from the one it was built at. Every write of this
 * package replaces the revision, a random token in the collection's metadata (see KnowledgeBaseCollection.revision),
 * so every queue-mode worker searches the same chunks, a restart loses nothing, and an unchanged knowledge base
 * costs no reads.
 */
import { Bm25Index } from './bm25';
import type { KnowledgeBaseCollection } from './chroma-store';
import { indexedText, keywordTerms, type KeywordHit } from './keyword-terms';
import { recentlyUsed } from './recently-used';
import type { SharedKeywordIndex } from './shared-keyword-index';

/** One knowledge base's BM25 index in this process, kept in step with Chroma by sync(). */
export class KeywordIndex {
	private readonly index = new Bm25Index();

	/** The revision the index reflects; undefined before the first sync. */
	private revision?: string;

	private syncing?: Promise<void>;

	/** Chunks indexed. */
	get size(): number {
		return this.index.size;
	}

	/**
	 * Brings the index up to the knowledge base's current revision: chunks added since are read and indexed, chunks
	 * removed since are dropped; nothing is read when the revision is unchanged. Concurrent calls share one sync.
	 */
	async sync(kb: KnowledgeBaseCollection): Promise<void> {
		// Read before listing the chunks: a write that lands during the sync changes the revision again.
		const revision = await kb.revision();
		// A sync already under way may be for an older revision: then another one follows it.
		while (this.revision !== revision) {
			this.syncing ??= this.load(kb, revision).finally(() => (this.syncing = undefined));
			await this.syncing;
		}
	}

	private async load(kb: KnowledgeBaseCollection, revision: string): Promise<void> {
		const add = (chunk: { id: string; text: string; metadata: Record<string, unknown> }) =>
			this.index.add(chunk.id, keywordTerms(indexedText(chunk.text, chunk.metadata)));
		if (!this.index.size) {
			// First build: read every chunk once, page by page.
			await kb.forEachChunk((chunks) => chunks.forEach(add));
		} else {
			const current = new Set(await kb.allIds());
			for (const id of this.index.ids()) if (!current.has(id)) this.index.remove(id);
			const missing = [...current].filter((id) => !this.index.has(id));
			for (let i = 0; i < missing.length; i += 500) {
				(await kb.getByIds(missing.slice(i, i + 500), { documents: true })).forEach(add);
			}
		}
		this.revision = revision;
	}

	/** The best `limit` chunks for `query`, best first; [] when no query term occurs in the knowledge base. */
	search(query: string, limit: number): KeywordHit[] {
		return this.index.search(keywordTerms(query), limit);
	}
}

/** Indexes of this process, by Chroma server, tenant, database and collection id; the least recently used go first. */
const indexes = new Map<string, KeywordIndex>();
const MAX_INDEXES = 16;

/**
 * The keyword index of `kb`, synced to its current revision: the shared one in Redis when the store was opened with
 * `keywordIndex` (see shared-keyword-index.ts), else this process's own.
 */
export async function keywordIndexFor(
	kb: KnowledgeBaseCollection,
): Promise<KeywordIndex | SharedKeywordIndex> {
	const index =
		kb.sharedKeywordIndex() ??
		recentlyUsed(indexes, kb.cacheKey(), () => new KeywordIndex(), MAX_INDEXES);
	await index.sync(kb);
	return index;
}
