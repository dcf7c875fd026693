/**
 * Hybrid's fusion functions on constructed rankings: the convex combination of normalised scores (the default) and
 * Reciprocal Rank Fusion (the former default), side by side where they differ.
 */
import fc from 'fast-check';

import { convexCombination, DEFAULT_KEYWORD_WEIGHT, reciprocalRankFusion } from '../../../lib/rag';

const ids = (ranked: Array<{ id: string }>) => ranked.map((r) => r.id);

/**
 * One chunk names the query's rare term (BM25 12, four times the next); the vector ranking is weak: its cosines
 * barely differ (0.29…0.31) and put that chunk last.
 */
const strongKeywordWeakVectors = [
	{ id: 'names-the-option', keywordScore: 12, vectorScore: 0.29 },
	{ id: 'general-a', keywordScore: 3, vectorScore: 0.31 },
	{ id: 'general-b', keywordScore: 2.5, vectorScore: 0.3 },
	{ id: 'vector-only', vectorScore: 0.3 },
];

describe('convexCombination', () => {
	it('keeps a strong keyword hit first when the vector ranking is weak; equal-weight RRF pulls it down', () => {
		const fused = convexCombination(strongKeywordWeakVectors, DEFAULT_KEYWORD_WEIGHT.convex);
		expect(fused[0].id).toBe('names-the-option');
		// Even at equal weights: a flat cosine list adds about the same to every chunk.
		expect(convexCombination(strongKeywordWeakVectors, 0.5)[0].id).toBe('names-the-option');

		const byVector = [...strongKeywordWeakVectors].sort((a, b) => b.vectorScore - a.vectorScore);
		const byKeyword = strongKeywordWeakVectors.filter((c) => c.keywordScore !== undefined);
		const rrf = reciprocalRankFusion([
			{ ids: ids(byVector), weight: 0.5 },
			{ ids: ids(byKeyword), weight: 0.5 },
		]);
		expect(rrf[0].id).not.toBe('names-the-option');
	});

	it('normalises each score from its theoretical minimum (BM25 0, cosine −1) to the best candidate', () => {
		const [first, second] = convexCombination(
			[
				{ id: 'a', keywordScore: 4, vectorScore: 0.5 },
				{ id: 'b', keywordScore: 2, vectorScore: 0 },
			],
			0.7,
		);
		expect(first).toEqual({ id: 'a', score: expect.closeTo(0.7 * 1 + 0.3 * 1, 12) });
		expect(second).toEqual({ id: 'b', score: expect.closeTo(0.7 * 0.5 + 0.3 * (1 / 1.5), 12) });
	});

	it('lets a chunk only the vectors found rise above weak keyword matches, not above strong ones', () => {
		const fused = convexCombination(
			[
				{ id: 'strong-keyword', keywordScore: 10, vectorScore: 0.2 },
				{ id: 'weak-keyword', keywordScore: 1, vectorScore: 0 },
				{ id: 'paraphrase', vectorScore: 0.8 },
			],
			DEFAULT_KEYWORD_WEIGHT.convex,
		);
		expect(ids(fused)).toEqual(['strong-keyword', 'paraphrase', 'weak-keyword']);
	});

	it('gives the keyword order at weight 1 and the vector order at weight 0; scores stay within 0…1', () => {
		// Scores on a grid: distinct scores stay distinct after normalising (no ties from rounding).
		const candidate = fc.record({
			keywordScore: fc.option(
				fc.integer({ min: 0, max: 500 }).map((n) => n / 10),
				{ nil: undefined },
			),
			vectorScore: fc.option(
				fc.integer({ min: -100, max: 100 }).map((n) => n / 100),
				{ nil: undefined },
			),
		});
		fc.assert(
			fc.property(
				fc.array(candidate, { minLength: 1, maxLength: 30 }),
				fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
				(raw, weight) => {
					const candidates = raw.map((c, i) => ({ id: `c${i}`, ...c }));
					for (const { score } of convexCombination(candidates, weight)) {
						expect(score).toBeGreaterThanOrEqual(0);
						expect(score).toBeLessThanOrEqual(1 + 1e-12);
					}
					const sortedBy = (key: 'keywordScore' | 'vectorScore', floor: number) =>
						candidates.map((c) => c[key] ?? floor).sort((a, b) => b - a);
					const scoreOf = new Map(candidates.map((c) => [c.id, c]));
					const keywordOrder = convexCombination(candidates, 1).map(
						(r) => scoreOf.get(r.id)!.keywordScore ?? 0,
					);
					expect(keywordOrder).toEqual(sortedBy('keywordScore', 0));
					const vectorOrder = convexCombination(candidates, 0).map(
						(r) => scoreOf.get(r.id)!.vectorScore ?? -1,
					);
					expect(vectorOrder).toEqual(sortedBy('vectorScore', -1));
				},
			),
			{ numRuns: 200 },
		);
	});
});
