/** Retrieval evaluation: matching of expected sources, ranks, hit@k, MRR, latency percentiles and the best mode. */
import fc from 'fast-check';

import {
	evaluateRetrieval,
	expectedSources,
	RagError,
	scoreQuestion,
	summarize,
} from '../../../lib/rag';
import { bestMode, rankOf, scoreRank, type ModeSummary } from '../../../lib/rag/evaluate';

describe('expected sources', () => {
	it('takes a list, or one string split at "|", trimmed, without empty entries', () => {
		expect(expectedSources(['docs/a.md', ' b.md '])).toEqual(['docs/a.md', 'b.md']);
		expect(expectedSources('docs/a.md | guide/ ||')).toEqual(['docs/a.md', 'guide/']);
	});

	it.each([[''], [' | '], [[]], [42], [null], [['a.md', 3]]])('rejects %j', (value) => {
		expect(() => expectedSources(value)).toThrow(RagError);
	});
});

describe('rank', () => {
	const sources = ['guide/install.md', 'guide/install.md', 'api/Client.md', 'faq.md'];

	it('is the 1-based position of the first chunk whose source contains an expected entry', () => {
		expect(rankOf(sources, ['guide/install.md'])).toBe(1);
		expect(rankOf(sources, ['Client'])).toBe(3);
		expect(rankOf(sources, ['faq.md', 'api/'])).toBe(3);
		expect(rankOf(sources, ['client'])).toBeNull(); // case-sensitive
		expect(rankOf(sources, ['missing.md'])).toBeNull();
		expect(rankOf([], ['faq.md'])).toBeNull();
	});

	it('scores as hit@1/4/10 flags and the reciprocal rank', () => {
		expect(scoreRank(1)).toEqual({ rank: 1, reciprocalRank: 1, hitAt1: 1, hitAt4: 1, hitAt10: 1 });
		expect(scoreRank(4)).toEqual({
			rank: 4,
			reciprocalRank: 0.25,
			hitAt1: 0,
			hitAt4: 1,
			hitAt10: 1,
		});
		expect(scoreRank(5)).toMatchObject({ hitAt4: 0, hitAt10: 1, reciprocalRank: 0.2 });
		expect(scoreRank(11)).toMatchObject({ hitAt10: 0, reciprocalRank: 1 / 11 });
		expect(scoreRank(null)).toEqual({
			rank: null,
			reciprocalRank: 0,
			hitAt1: 0,
			hitAt4: 0,
			hitAt10: 0,
		});
	});

	it('per mode, with the latency when given', () => {
		const scores = scoreQuestion(['b.md'], {
			keyword: { sources: ['b.md', 'a.md'], latencyMs: 3 },
			vector: { sources: ['a.md', 'c.md', 'b.md'] },
		});
		expect(Object.keys(scores)).toEqual(['keyword', 'vector']);
		expect(scores.keyword).toMatchObject({ rank: 1, latencyMs: 3 });
		expect(scores.vector.rank).toBe(3);
		expect(scores.vector).not.toHaveProperty('latencyMs');
	});
});

describe('summary', () => {
	it('averages hit@k and reciprocal ranks per mode and takes nearest-rank latency percentiles', () => {
		const questions = [
			{ question: 'q1', expected: 'a.md' },
			{ question: 'q2', expected: ['b.md'] },
			{ question: 'q3', expected: 'c.md' },
			{ question: 'q4', expected: 'd.md' },
		];
		const keyword = [['a.md'], ['x', 'b.md'], ['x', 'x', 'x', 'x', 'c.md'], []].map(
			(sources, i) => ({ sources, latencyMs: [10, 20, 30, 40][i] }),
		);
		const vector = [['x', 'a.md'], ['b.md'], ['c.md'], ['d.md']].map((sources) => ({ sources }));
		const { questions: scored, summary } = evaluateRetrieval(questions, { keyword, vector });

		expect(scored.map((q) => q.keyword.rank)).toEqual([1, 2, 5, null]);
		expect(summary.questions).toBe(4);
		expect(summary.modes.keyword).toEqual({
			questions: 4,
			hitAt1: 0.25,
			hitAt4: 0.5,
			hitAt10: 0.75,
			mrr: (1 + 0.5 + 0.2 + 0) / 4,
			latencyMs: { p50: 20, p95: 40 },
		});
		expect(summary.modes.vector).toMatchObject({
			hitAt1: 0.75,
			hitAt4: 1,
			mrr: 3.5 / 4,
			latencyMs: null,
		});
		expect(summary.bestMode).toBe('vector');
	});

	it('of no questions is zero per mode, and of no modes has no best mode', () => {
		expect(summarize([], ['keyword']).modes.keyword).toMatchObject({ questions: 0, mrr: 0 });
		expect(summarize([]).bestMode).toBeNull();
	});

	it('rejects a mode missing for a question', () => {
		expect(() =>
			evaluateRetrieval([{ question: 'q', expected: 'a' }], {
				keyword: [],
				vector: [{ sources: ['a'] }],
			}),
		).toThrow(/Mode "keyword" has no results for question 0/);
		expect(() => summarize([{ keyword: scoreRank(1) }, {}], ['keyword'])).toThrow(/Question 1/);
	});

	it('keeps hit@1 ≤ MRR ≤ hit@10 and hit@1 ≤ hit@4 ≤ hit@10 for any ranks', () => {
		fc.assert(
			fc.property(
				fc.array(fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }), { minLength: 1 }),
				(ranks) => {
					const m = summarize(ranks.map((r) => ({ mode: scoreRank(r) }))).modes.mode;
					const e = 1e-12;
					expect(m.hitAt1).toBeLessThanOrEqual(m.mrr + e);
					expect(m.mrr).toBeLessThanOrEqual(m.hitAt10 + e);
					expect(m.hitAt1).toBeLessThanOrEqual(m.hitAt4);
					expect(m.hitAt4).toBeLessThanOrEqual(m.hitAt10);
				},
			),
		);
	});
});

describe('best mode', () => {
	const mode = (over: Partial<ModeSummary>): ModeSummary => ({
		questions: 4,
		hitAt1: 0.5,
		hitAt4: 0.75,
		hitAt10: 1,
		mrr: 0.6,
		latencyMs: null,
		...over,
	});

	it('is the highest MRR', () => {
		expect(bestMode({ keyword: mode({ mrr: 0.5, hitAt1: 1 }), hybrid: mode({ mrr: 0.7 }) })).toBe(
			'hybrid',
		);
	});

	it('on equal MRR (within rounding) takes hit@1, then hit@4, then hit@10', () => {
		const close = 0.1 + 0.2; // 0.30000000000000004
		expect(bestMode({ a: mode({ mrr: close }), b: mode({ mrr: 0.3, hitAt1: 0.75 }) })).toBe('b');
		expect(bestMode({ a: mode({}), b: mode({ hitAt4: 1 }) })).toBe('b');
		expect(bestMode({ a: mode({ hitAt10: 0.75 }), b: mode({}) })).toBe('b');
	});

	it('then the lower p50 latency, then the mode given first', () => {
		const slow = mode({ latencyMs: { p50: 9, p95: 9 } });
		const fast = mode({ latencyMs: { p50: 2, p95: 30 } });
		expect(bestMode({ slow, fast })).toBe('fast');
		expect(bestMode({ first: mode({}), second: mode({}) })).toBe('first');
		expect(bestMode({ first: mode({}), second: fast })).toBe('first');
		expect(bestMode({})).toBeNull();
	});
});
