/**
 * The Knowledge Base's search options as lib/rag receives them: Fusion, Keyword Weight and RRF K reach hybrid's
 * settings (test/integration/rag/hybrid.test.ts shows each changes the ranking).
 */
import { toRetrievalOptions } from '../../../nodes/shared/fields/knowledgeBase';

it('passes Fusion, Keyword Weight and RRF K to hybrid retrieval, and leaves them to the defaults when not set', () => {
	expect(toRetrievalOptions(4, { fusion: 'rrf', keywordWeight: 0.6, rrfK: 10 }).hybrid).toEqual({
		fusion: 'rrf',
		keywordWeight: 0.6,
		rrfK: 10,
	});
	expect(toRetrievalOptions(4, {}).hybrid).toEqual({
		fusion: undefined,
		keywordWeight: undefined,
		rrfK: undefined,
	});
});
