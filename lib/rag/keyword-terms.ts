/**
 * What keyword search indexes and looks up: the terms of a text (Lucene EnglishAnalyzer-like: words, identifier
 * parts, stop words dropped, Porter2 stems) and the text indexed for a chunk. Shared by the per-process and the
 * shared keyword index, so both score the same terms.
 */
import { stem } from './stem';

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

export interface KeywordHit {
	id: string;
	/** BM25 score (sum over the query terms the chunk contains). */
	score: number;
}

/** The text indexed for a chunk: where it comes from, then what it says. */
export function indexedText(document: string, metadata: Record<string, unknown> | null): string {
	return [metadata?.source, metadata?.headingPath, document]
		.filter((part) => typeof part === 'string' && part)
		.join('\n');
}
