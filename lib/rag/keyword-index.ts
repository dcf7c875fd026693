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
import { stem } from './stem';

import { Bm25Index } from './bm25';
import type { KnowledgeBaseCollection } from './chroma-store';

/** Lucene's English stop words (StandardAnalyzer's default set). */
const STOP_WORDS = new Set(
	'a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with'.split(
		' ',
	),
);

/**
 * Search terms of a text: words of letters and digits, lower-cased, with the parts of compound identifiers too
 * (`maxRetriesPerRequest` → maxretriesperrequest, max, retri, per, request; `node-fetch` → node-fetch, node, fetch),
 * so both the exact identifier and its words match. English stop words and possessives are left out and every term is reduced to its
 * stem (Porter2, as Lucene's EnglishAnalyzer does with Porter), so "publishing" finds "published".
 */
export function keywordTerms(text: string): string[] {
	const terms: string[] = [];
	for (const word of text.match(/[\p{L}\p{N}]+(?:[._'-][\p{L}\p{N}]+)*/gu) ?? []) {
		const token = word.replace(/'s$/i, ''); // the possessive, as Lucene's EnglishPossessiveFilter drops it
		const parts = token
			.split(/[._'-]/)
			.flatMap((part) => part.split(/(?<=[\p{Ll}\p{N}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u));
		for (const term of new Set([token, ...(parts.length > 1 ? parts : [])])) {
			const lower = term.toLowerCase();
			if (lower && !STOP_WORDS.has(lower)) terms.push(stem(lower));
		}
	}
	return terms;
}

interface KeywordHit {
	id: string;
	/** BM25 score (sum over the query terms the chunk contains). */
	score: number;
}

/** The text indexed for a chunk: where it comes from, then what it says. */
function indexedText(document: string, metadata: Record<string, unknown> | null): string {
	return [metadata?.source, metadata?.headingPath, document]
		.filter((part) => typeof part === 'string' && part)
		.join('\n');
}

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

/** This process's index of `kb`, synced to its current revision. */
export async function keywordIndexFor(kb: KnowledgeBaseCollection): Promise<KeywordIndex> {
	const key = kb.cacheKey();
	let index = indexes.get(key);
	if (index) indexes.delete(key);
	else index = new KeywordIndex();
	indexes.set(key, index);
	while (indexes.size > MAX_INDEXES) indexes.delete(indexes.keys().next().value!);
	await index.sync(kb);
	return index;
}
