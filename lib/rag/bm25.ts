/**
 * An in-memory Okapi BM25 index (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond",
 * 2009) with Lucene's idf, idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)), and
 * score(d, q) = Σ_{t ∈ q} idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d| / avgdl)).
 *
 * Kept compact because every n8n process holds one per knowledge base: postings are numbers in flat arrays per term,
 * documents are numbered, a removed document is dropped from the statistics at once and from the postings when a
 * third of them are dead. A query accumulates scores term by term and keeps the best `limit` in a small heap, so it
 * costs the length of its terms' postings, not a pass over every document.
 */

/** Okapi BM25's usual parameters. */
export const BM25_PARAMETERS = { k1: 1.2, b: 0.75 } as const;

/** Lucene's BM25 idf of a term found in `df` of `documents` documents. */
export function bm25Idf(documents: number, df: number): number {
	return Math.log(1 + (documents - df + 0.5) / (df + 0.5));
}

/** A term's postings: document numbers and term frequencies in growable typed arrays. */
class Postings {
	docs = new Uint32Array(4);
	tfs = new Uint16Array(4);
	length = 0;
	/** Live documents containing the term. */
	df = 0;

	push(doc: number, tf: number): void {
		if (this.length === this.docs.length) {
			const docs = new Uint32Array(this.length * 2);
			docs.set(this.docs);
			const tfs = new Uint16Array(this.length * 2);
			tfs.set(this.tfs);
			[this.docs, this.tfs] = [docs, tfs];
		}
		this.docs[this.length] = doc;
		this.tfs[this.length++] = Math.min(tf, 0xffff);
		this.df++;
	}
}

export class Bm25Index {
	private readonly termNumbers = new Map<string, number>();
	private postings: Postings[] = [];
	private readonly numberOf = new Map<string, number>();
	private documentIds: string[] = [];
	private lengths: number[] = [];
	/** Each document's distinct term numbers, to update document frequencies when it is removed. */
	private docTerms: Uint32Array[] = [];
	private alive: boolean[] = [];
	private dead = 0;
	private totalLength = 0;

	constructor(private readonly parameters: { k1: number; b: number } = BM25_PARAMETERS) {}

	/** Live documents. */
	get size(): number {
		return this.numberOf.size;
	}

	has(id: string): boolean {
		return this.numberOf.has(id);
	}

	/** Ids of the live documents. */
	ids(): string[] {
		return [...this.numberOf.keys()];
	}

	/** Adds (or replaces) a document given as its terms, in order, repeats included. */
	add(id: string, terms: readonly string[]): void {
		if (this.numberOf.has(id)) this.remove(id);
		const n = this.documentIds.length;
		const counts = new Map<number, number>();
		for (const term of terms) {
			let t = this.termNumbers.get(term);
			if (t === undefined) {
				t = this.postings.length;
				this.termNumbers.set(term, t);
				this.postings.push(new Postings());
			}
			counts.set(t, (counts.get(t) ?? 0) + 1);
		}
		for (const [t, tf] of counts) this.postings[t].push(n, tf);
		this.numberOf.set(id, n);
		this.documentIds.push(id);
		this.lengths.push(terms.length);
		this.docTerms.push(Uint32Array.from(counts.keys()));
		this.alive.push(true);
		this.totalLength += terms.length;
	}

	/** Removes a document (no-op for an unknown id). */
	remove(id: string): void {
		const n = this.numberOf.get(id);
		if (n === undefined) return;
		this.numberOf.delete(id);
		this.alive[n] = false;
		this.totalLength -= this.lengths[n];
		for (const t of this.docTerms[n]) this.postings[t].df--;
		this.docTerms[n] = new Uint32Array(0);
		if (++this.dead > 1000 && this.dead * 3 > this.documentIds.length) this.compact();
	}

	/** The best `limit` documents for the query terms (distinct terms count once), best first; [] when none match. */
	search(queryTerms: readonly string[], limit: number): Array<{ id: string; score: number }> {
		const documents = this.size;
		if (!documents || limit < 1) return [];
		const { k1, b } = this.parameters;
		const averageLength = this.totalLength / documents || 1;
		const scores = new Float64Array(this.documentIds.length);
		const touched: number[] = [];
		for (const term of new Set(queryTerms)) {
			const t = this.termNumbers.get(term);
			const postings = t === undefined ? undefined : this.postings[t];
			if (!postings?.df) continue;
			const idf = bm25Idf(documents, postings.df);
			for (let i = 0; i < postings.length; i++) {
				const n = postings.docs[i];
				if (!this.alive[n]) continue;
				const tf = postings.tfs[i];
				if (scores[n] === 0) touched.push(n);
				scores[n] +=
					(idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * this.lengths[n]) / averageLength));
			}
		}
		return topByScore(touched, scores, limit).map((n) => ({
			id: this.documentIds[n],
			score: scores[n],
		}));
	}

	/** Renumbers the live documents and drops the dead ones' postings. */
	private compact(): void {
		const renumber = new Int32Array(this.documentIds.length).fill(-1);
		const [ids, lengths, docTerms, alive] = [
			[] as string[],
			[] as number[],
			[] as Uint32Array[],
			[] as boolean[],
		];
		this.documentIds.forEach((id, n) => {
			if (!this.alive[n]) return;
			renumber[n] = ids.length;
			this.numberOf.set(id, ids.length);
			ids.push(id);
			lengths.push(this.lengths[n]);
			docTerms.push(this.docTerms[n]);
			alive.push(true);
		});
		this.postings = this.postings.map((old) => {
			const fresh = new Postings();
			for (let i = 0; i < old.length; i++)
				if (renumber[old.docs[i]] >= 0) fresh.push(renumber[old.docs[i]], old.tfs[i]);
			return fresh;
		});
		Object.assign(this, { documentIds: ids, lengths, docTerms, alive, dead: 0 });
	}
}

/** The `limit` documents of `candidates` with the highest scores, best first (a min-heap of size `limit`). */
export function topByScore(
	candidates: Iterable<number>,
	scores: Float64Array,
	limit: number,
): number[] {
	const heap: number[] = [];
	const less = (i: number, j: number) => scores[heap[i]] < scores[heap[j]];
	const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
	for (const n of candidates) {
		if (heap.length < limit) {
			heap.push(n);
			for (let i = heap.length - 1; i > 0 && less(i, (i - 1) >> 1); i = (i - 1) >> 1)
				swap(i, (i - 1) >> 1);
		} else if (scores[n] > scores[heap[0]]) {
			heap[0] = n;
			for (let i = 0; ;) {
				const [l, r] = [2 * i + 1, 2 * i + 2];
				let smallest = i;
				if (l < heap.length && less(l, smallest)) smallest = l;
				if (r < heap.length && less(r, smallest)) smallest = r;
				if (smallest === i) break;
				swap(i, smallest);
				i = smallest;
			}
		}
	}
	return heap.sort((a, b) => scores[b] - scores[a] || a - b);
}
