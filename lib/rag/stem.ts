/**
 * English stemming for keyword search: Porter2 (the Snowball English stemmer, Porter 2001,
 * https://snowballstem.org/algorithms/english/stemmer.html) from wink-porter2-stemmer.
 * stem(word: lower-case string) → its stem ("dependencies" → "depend"); words it does not know come back unchanged.
 */
import porter2 from 'wink-porter2-stemmer';

/**
 * Stems already computed. A corpus repeats its words (set a's READMEs: 511 000 words, 18 500 distinct), and stemming
 * was half of a keyword index build's term extraction; a lookup costs a tenth of a stemming. Cleared when it reaches
 * MAX_CACHED, so text of ever-new tokens (IDs, hashes) cannot grow it without bound.
 */
const cache = new Map<string, string>();
const MAX_CACHED = 200_000;

export function stem(word: string): string {
	let stemmed = cache.get(word);
	if (stemmed === undefined) {
		if (cache.size >= MAX_CACHED) cache.clear();
		stemmed = porter2(word);
		cache.set(word, stemmed);
	}
	return stemmed;
}
