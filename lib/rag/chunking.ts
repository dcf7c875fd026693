/**
 * Splits a loaded document into chunks with LangChain's RecursiveCharacterTextSplitter (Markdown-aware separators
 * for Markdown) and records where each chunk sits in the document: character offsets, heading path, PDF page.
 */
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { getEncoding, type Tiktoken } from 'js-tiktoken';

import { RagError } from './errors';
import type { LoadedDocument } from './loaders';

type ChunkUnit = 'characters' | 'tokens';

export interface ChunkingOptions {
	/** Largest chunk, in `unit`s (default 1000 characters). */
	chunkSize?: number;
	/** Shared between neighbouring chunks, in `unit`s (default 200 characters); must be < chunkSize. */
	chunkOverlap?: number;
	/** 'characters' (default) or 'tokens' (cl100k_base, the tokenizer of OpenAI's GPT-4 and text-embedding-3 models). */
	unit?: ChunkUnit;
}

export interface Chunk {
	text: string;
	/** 0-based position in the document. */
	index: number;
	/** Character offsets in the loaded text: text === document.text.slice(start, end). */
	start: number;
	end: number;
	/** Markdown headings enclosing the chunk's first line of body text, outermost first (e.g. "Install > Linux"); '' when none. */
	headingPath: string;
	/** PDF only: 1-based page where the chunk starts. */
	page?: number;
}

export const DEFAULT_CHUNKING: Required<ChunkingOptions> = {
	chunkSize: 1000,
	chunkOverlap: 200,
	unit: 'characters',
};

let encoder: Tiktoken | undefined;
/** Token count with cl100k_base; the encoder (ranks bundled in js-tiktoken, no download) is built once. */
export function countTokens(text: string): number {
	encoder ??= getEncoding('cl100k_base');
	return encoder.encode(text).length;
}

/** Throws RagError INVALID_OPTIONS unless 1 ≤ chunkSize and 0 ≤ chunkOverlap < chunkSize (whole numbers). */
export function checkChunking(options: ChunkingOptions = {}): Required<ChunkingOptions> {
	const o = {
		...DEFAULT_CHUNKING,
		...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
	};
	if (!Number.isInteger(o.chunkSize) || o.chunkSize < 1)
		throw new RagError(
			'INVALID_OPTIONS',
			`Chunk size must be a whole number ≥ 1, got ${o.chunkSize}`,
		);
	if (!Number.isInteger(o.chunkOverlap) || o.chunkOverlap < 0 || o.chunkOverlap >= o.chunkSize) {
		throw new RagError(
			'INVALID_OPTIONS',
			`Chunk overlap must be a whole number from 0 to chunk size − 1 (${o.chunkSize - 1}), got ${o.chunkOverlap}`,
		);
	}
	if (o.unit !== 'characters' && o.unit !== 'tokens')
		throw new RagError(
			'INVALID_OPTIONS',
			`Chunk size unit must be "characters" or "tokens", got "${o.unit}"`,
		);
	return o;
}

interface Heading {
	offset: number;
	level: number;
	title: string;
}

/** ATX headings (# … ######) outside fenced code blocks, with their offsets. Setext headings are not recognised. */
export function markdownHeadings(text: string): Heading[] {
	const headings: Heading[] = [];
	let fence: string | undefined;
	let offset = 0;
	for (const line of text.split('\n')) {
		const fenceMatch = /^ {0,3}(`{3,}|~{3,})/.exec(line);
		if (fenceMatch) {
			if (!fence) fence = fenceMatch[1][0];
			else if (fenceMatch[1][0] === fence) fence = undefined;
		} else if (!fence) {
			const heading = /^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$/.exec(line);
			if (heading) headings.push({ offset, level: heading[1].length, title: heading[2].trim() });
		}
		offset += line.length + 1;
	}
	return headings;
}

function headingPathAt(headings: Heading[], offset: number): string {
	const stack: Heading[] = [];
	for (const heading of headings) {
		if (heading.offset > offset) break;
		while (stack.length && stack[stack.length - 1].level >= heading.level) stack.pop();
		stack.push(heading);
	}
	return stack.map((h) => h.title).join(' > ');
}

/** Offset of the first line in `text` that is neither blank nor an ATX heading (0 when there is none). */
function bodyOffset(text: string): number {
	const match = /^(?!\s*$)(?! {0,3}#{1,6}[ \t])/m.exec(text);
	return match ? match.index : 0;
}

function pageAt(pageStarts: number[], offset: number): number {
	let page = 1;
	while (page < pageStarts.length && pageStarts[page] <= offset) page++;
	return page;
}

/** Formats whose text marks sections with Markdown headings: HTML's headings are written so by the loader. */
const HEADED_FORMATS = new Set(['markdown', 'html']);

/**
 * Chunks `document`. Every chunk is a substring of document.text at [start, end); starts never decrease.
 * Throws RagError INVALID_OPTIONS for bad sizes.
 */
export async function chunkDocument(
	document: LoadedDocument,
	options: ChunkingOptions = {},
): Promise<Chunk[]> {
	const { chunkSize, chunkOverlap, unit } = checkChunking(options);
	const params = {
		chunkSize,
		chunkOverlap,
		...(unit === 'tokens' ? { lengthFunction: countTokens } : {}),
	};
	const headed = HEADED_FORMATS.has(document.format);
	const splitter = headed
		? RecursiveCharacterTextSplitter.fromLanguage('markdown', params)
		: new RecursiveCharacterTextSplitter(params);
	const pieces = await splitter.splitText(document.text);
	const headings = headed ? markdownHeadings(document.text) : [];
	const chunks: Chunk[] = [];
	let searchFrom = 0;
	for (const text of pieces) {
		// The splitter only trims and joins adjacent pieces, so each chunk starts at or after the previous one's start
		// (at the same place when it extends the previous chunk, which LangChain's merge can emit).
		let start = document.text.indexOf(text, searchFrom);
		if (start < 0) start = document.text.indexOf(text);
		if (start < 0) continue; // cannot happen with the recursive splitter; skipped rather than stored without a position
		searchFrom = start;
		chunks.push({
			text,
			index: chunks.length,
			start,
			end: start + text.length,
			headingPath: headingPathAt(headings, start + bodyOffset(text)),
			...(document.pageStarts ? { page: pageAt(document.pageStarts, start) } : {}),
		});
	}
	return chunks;
}
