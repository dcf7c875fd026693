/**
 * The retrieval evaluation's question sets (bench/eval/sets.ts): every question names answering files that set b's
 * vendored pages hold, ids are unique, and the subset for a slow embedding model keeps every answering file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { cargoBook, npmReadmes, subset } from '../../../bench/eval/sets';
import type { LoadedDocument } from '../../../lib/rag';

it('names, for every question of set b, pages that are vendored in bench/eval/cargo-book/docs', () => {
	expect(cargoBook.questions.length).toBeGreaterThanOrEqual(25);
	for (const q of cargoBook.questions) {
		expect(q.expected.length).toBeGreaterThan(0);
		for (const file of q.expected)
			expect(
				existsSync(join(__dirname, '..', '..', '..', 'bench', 'eval', 'cargo-book', 'docs', file)),
			).toBe(true);
	}
});

it('gives every question of both sets a unique id and one or more expected files', () => {
	for (const set of [npmReadmes, cargoBook]) {
		const ids = set.questions.map((q) => q.id);
		expect(new Set(ids).size).toBe(ids.length);
		for (const q of set.questions) expect(q.expected.every((e) => e.length > 0)).toBe(true);
	}
});

it('keeps every answering file in the subset and every stride-th other one', () => {
	const doc = (source: string) => ({ source }) as LoadedDocument;
	const documents = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map(doc);
	const questions = [{ id: 'q', question: '?', style: 'natural', expected: ['e'] }];
	expect(subset(documents, questions, 3).map((d) => d.source)).toEqual(['a', 'd', 'e', 'h']);
});
