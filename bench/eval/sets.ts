/**
 * The question sets of `npm run eval`, each a corpus and questions written by reading its files (never from a
 * retriever's output), every question naming the file(s) that answer it:
 * - **a**, the Markdown READMEs of the installed npm packages (the corpus `npm start` ingests; sources named like
 *   "ioredis/README.md"), questions in bench/eval/questions.json;
 * - **b**, 64 HTML pages of The Cargo Book (reference documentation, vendored with its licence in
 *   bench/eval/cargo-book/), questions in bench/eval/cargo-book/questions.json.
 * Both load their files as the Knowledge Base node does (loadDocument).
 */
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadDocument, type LoadedDocument } from '../../lib/rag';

const ROOT = join(__dirname, '..', '..');

export interface EvalQuestion {
	id: string;
	question: string;
	/** Source IDs of the files that answer it; a chunk of any of them is a hit. */
	expected: string[];
	style: string;
}

export interface QuestionSet {
	name: 'a' | 'b';
	/** What the documents are, for tables. */
	title: string;
	questions: EvalQuestion[];
	/** The corpus, loaded as the Knowledge Base loads files. */
	documents(): Promise<LoadedDocument[]>;
}

/** Files under `dir` matching `pattern`, loaded with their path below `dir` as the source ID; unreadable ones skipped. */
async function loadFiles(dir: string, pattern: string): Promise<LoadedDocument[]> {
	const documents: LoadedDocument[] = [];
	for (const file of globSync(pattern, { cwd: dir }).sort()) {
		const content = readFileSync(join(dir, file));
		const loaded = await loadDocument({ source: file, content, fileName: file }).catch(
			() => undefined,
		);
		if (loaded) documents.push(loaded);
	}
	return documents;
}

interface QuestionFile {
	id: string;
	question: string;
	style: string;
	/** Set a names one file, set b one or more. */
	file?: string;
	files?: string[];
}

function readQuestions(path: string): EvalQuestion[] {
	const raw = JSON.parse(readFileSync(path, 'utf8')) as QuestionFile[];
	return raw.map(({ id, question, style, file, files }) => ({
		id,
		question,
		style,
		expected: files ?? [file!],
	}));
}

export const npmReadmes: QuestionSet = {
	name: 'a',
	title: 'npm READMEs (Markdown)',
	questions: readQuestions(join(__dirname, 'questions.json')),
	documents: () => loadFiles(join(ROOT, 'node_modules'), '{*,@*/*}/README.md'),
};

export const cargoBook: QuestionSet = {
	name: 'b',
	title: 'The Cargo Book (HTML)',
	questions: readQuestions(join(__dirname, 'cargo-book', 'questions.json')),
	documents: () => loadFiles(join(__dirname, 'cargo-book', 'docs'), '**/*.html'),
};

export const QUESTION_SETS = [npmReadmes, cargoBook];

/**
 * A smaller corpus for a slow embedding model: every file that answers a question, and every `stride`-th other file
 * (in source order) as distractors.
 */
export function subset(
	documents: readonly LoadedDocument[],
	questions: readonly EvalQuestion[],
	stride: number,
): LoadedDocument[] {
	const answering = new Set(questions.flatMap((q) => q.expected));
	let other = 0;
	return documents.filter((d) => answering.has(d.source) || other++ % stride === 0);
}
