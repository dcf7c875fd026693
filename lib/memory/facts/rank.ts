import { Bm25Index } from '../../rag/bm25';
import { keywordTerms } from '../../rag/keyword-terms';
import { convexCombination, cosine } from '../../rag/retrieval';

/**
 * The keyword ranking's share of a hybrid recall. Measured on the long-term memory benchmark's questions
 * (BENCH_ONLY=long-term-memory): with the semantic embeddings the Knowledge Base's 0.8 put a needed fact first for
 * one question fewer than 0.7 (hit@1 0.695 vs 0.712, one run each; equal with the hashing ones), so facts keep 0.7.
 */
export const FACT_KEYWORD_WEIGHT = 0.7;

/** A candidate of a recall: its ID, text and, when it was stored with one, its embedding. */
export interface Candidate {
	id: string;
	text: string;
	vector?: Float32Array;
}

/**
 * Ranks candidates for a query, best first, at most topK. Keyword-only (no query vector): BM25 over the candidates'
 * texts, only candidates sharing a search term with the query, scored by BM25. Hybrid: every candidate with a
 * keyword match or a vector of the query vector's size, scored by the Knowledge Base's default fusion — the convex
 * combination of BM25 and cosine similarity (see convexCombination), keyword weight FACT_KEYWORD_WEIGHT —
 * so a fact can be found by a word it does not contain (a positive cosine), and a weak embedding cannot push a strong
 * keyword match down; a candidate without a vector of that size takes part through its keywords only.
 */
export function rankFacts(
	candidates: readonly Candidate[],
	query: string,
	topK: number,
	queryVector?: readonly number[],
): Array<{ id: string; score: number }> {
	const index = new Bm25Index();
	for (const { id, text } of candidates) index.add(id, keywordTerms(text));
	const keyword = index.search(keywordTerms(query), candidates.length);
	if (!queryVector) return keyword.slice(0, topK);
	const keywordScore = new Map(keyword.map((hit) => [hit.id, hit.score]));
	const scored = candidates
		.map((c) => {
			const similarity =
				c.vector?.length === queryVector.length ? cosine(queryVector, c.vector) : 0;
			// Unrelated facts (no shared word, cosine ≤ 0) are left out, not returned at the bottom.
			return {
				id: c.id,
				keywordScore: keywordScore.get(c.id),
				vectorScore: similarity > 0 ? similarity : undefined,
			};
		})
		.filter((c) => c.keywordScore !== undefined || c.vectorScore !== undefined);
	return convexCombination(scored, FACT_KEYWORD_WEIGHT).slice(0, topK);
}
