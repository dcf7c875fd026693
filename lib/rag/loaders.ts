/**
 * Document loaders: text, Markdown, HTML (main text), PDF (text layer) and JSON (chosen fields) → plain text with a
 * stable `source` id. HTML goes through html-to-text, PDF through unpdf (Mozilla pdf.js); no OCR.
 */
import { convert, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';

import { decodeDocument } from './encoding';
import { RagError } from './errors';
import { checkMetadata, type Metadata } from './metadata';

type DocumentFormat = 'text' | 'markdown' | 'html' | 'pdf' | 'json';

/** Default size limit of one document's raw content: 10 MiB. */
const DEFAULT_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export interface DocumentInput {
	/** Stable id of the document (file name, URL or your own id); re-ingesting the same source replaces its chunks. */
	source: string;
	/** Text, or raw file bytes (n8n binary data). */
	content: string | Uint8Array;
	/** 'auto' (default) detects from mimeType / fileName; plain strings default to text. */
	format?: DocumentFormat | 'auto';
	fileName?: string;
	mimeType?: string;
	/** JSON only: dot paths of the fields to index (e.g. ["title", "body.text"]); empty = every scalar field. */
	jsonFields?: string[];
	/** Stored on every chunk; scalar values only. */
	metadata?: Record<string, unknown>;
	/** Raw size limit, bytes (default DEFAULT_MAX_DOCUMENT_BYTES). */
	maxBytes?: number;
}

export interface LoadedDocument {
	source: string;
	format: DocumentFormat;
	text: string;
	metadata: Metadata;
	/** PDF only: character offset in `text` where each page starts (page n = index n − 1). */
	pageStarts?: number[];
}

const MIME_FORMATS: Array<[RegExp, DocumentFormat]> = [
	[/^text\/(x-)?markdown$/, 'markdown'],
	[/^(text\/html|application\/xhtml\+xml)$/, 'html'],
	[/^application\/pdf$/, 'pdf'],
	[/^(application|text)\/([\w.-]+\+)?json$/, 'json'],
	[/^text\//, 'text'],
];

const EXTENSION_FORMATS: Record<string, DocumentFormat> = {
	md: 'markdown',
	markdown: 'markdown',
	mdx: 'markdown',
	html: 'html',
	htm: 'html',
	xhtml: 'html',
	pdf: 'pdf',
	json: 'json',
	txt: 'text',
	text: 'text',
	log: 'text',
	csv: 'text',
	tsv: 'text',
	rst: 'text',
	adoc: 'text',
};

/** File extensions the Knowledge Base reads (lower case, without the dot). */
export const DOCUMENT_EXTENSIONS = Object.keys(EXTENSION_FORMATS);

/**
 * The format of a file from its MIME type, else its extension. Returns undefined when neither is known
 * (e.g. application/octet-stream without a known extension, image/png).
 */
export function detectFormat(mimeType?: string, fileName?: string): DocumentFormat | undefined {
	const mime = (mimeType ?? '').split(';')[0].trim().toLowerCase();
	const extension = /\.([a-z0-9]+)$/i.exec(fileName ?? '')?.[1]?.toLowerCase();
	if (
		extension &&
		EXTENSION_FORMATS[extension] &&
		(!mime || mime === 'application/octet-stream' || mime === 'text/plain')
	) {
		return EXTENSION_FORMATS[extension];
	}
	for (const [pattern, format] of MIME_FORMATS) if (pattern.test(mime)) return format;
	return extension ? EXTENSION_FORMATS[extension] : undefined;
}

const SKIPPED_HTML = [
	'script',
	'style',
	'noscript',
	'template',
	'svg',
	'iframe',
	'nav',
	'form',
	'button',
	'img',
];
/**
 * An HTML heading written as a Markdown ATX heading (`<h2>Usage</h2>` → `## Usage`), so chunks of HTML pages split at
 * sections and carry their heading path as Markdown's do (see chunking.ts).
 */
const atxHeading: FormatCallback = (elem, walk, builder, options) => {
	builder.openBlock({ leadingLineBreaks: options.leadingLineBreaks || 2 });
	builder.addLiteral(`${'#'.repeat(Number(elem.name?.slice(1) ?? 1))} `);
	walk(elem.children, builder);
	builder.closeBlock({ trailingLineBreaks: options.trailingLineBreaks || 2 });
};

const HTML_OPTIONS: HtmlToTextOptions = {
	wordwrap: false,
	formatters: { atxHeading },
	selectors: [
		...SKIPPED_HTML.map((selector) => ({ selector, format: 'skip' })),
		{ selector: 'a', options: { ignoreHref: true } },
		...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, format: 'atxHeading' })),
		{ selector: 'table', format: 'dataTable' },
	],
};

/** The page's main text: <main>, else <article>, else <body>; scripts, styles, navigation and images left out. */
function htmlToText(html: string): string {
	for (const selector of ['main', 'article']) {
		const text = convert(html, {
			...HTML_OPTIONS,
			baseElements: { selectors: [selector], returnDomByDefault: false },
		}).trim();
		if (text) return text;
	}
	return convert(html, HTML_OPTIONS).trim();
}

/** Text of every page of a PDF (pdf.js text layer), with each page's start offset in the joined text. */
async function pdfToText(
	bytes: Uint8Array,
	name: string,
): Promise<{ text: string; pageStarts: number[]; pages: number }> {
	const { getDocumentProxy, extractText } = await import('unpdf');
	let pages: string[];
	try {
		// pdf.js may detach the buffer it is given: pass a copy so the caller's data stays intact.
		const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
		pages = (await extractText(pdf, { mergePages: false })).text;
	} catch (error) {
		throw new RagError(
			'INVALID_DOCUMENT',
			`${name} is not a readable PDF: ${(error as Error).message}`,
			{
				cause: error,
			},
		);
	}
	const pageStarts: number[] = [];
	let text = '';
	for (const page of pages) {
		if (text) text += '\n\n';
		pageStarts.push(text.length);
		text += page.trim();
	}
	return { text, pageStarts, pages: pages.length };
}

/** The value at a dot path (e.g. "body.text") of a JSON value, or undefined when a part is missing. */
export function valueAt(record: unknown, path: string): unknown {
	return path
		.split('.')
		.reduce<unknown>(
			(value, part) =>
				value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined,
			record,
		);
}

function scalarLeaves(value: unknown, path: string, out: string[]): void {
	if (value === null || value === undefined) return;
	if (Array.isArray(value)) value.forEach((v, i) => scalarLeaves(v, `${path}[${i}]`, out));
	else if (typeof value === 'object')
		for (const [k, v] of Object.entries(value)) scalarLeaves(v, path ? `${path}.${k}` : k, out);
	else if (String(value).trim()) out.push(path ? `${path}: ${String(value)}` : String(value));
}

/**
 * A JSON value as text: each record (array element, or the object itself) becomes "field: value" lines, records
 * separated by a blank line. With `fields`, only those dot paths (objects and arrays as JSON); else every scalar leaf.
 */
export function jsonToText(value: unknown, fields: string[] = []): string {
	const records = Array.isArray(value) ? value : [value];
	return records
		.map((record) => {
			const lines: string[] = [];
			if (!fields.length) scalarLeaves(record, '', lines);
			for (const field of fields) {
				const v = valueAt(record, field);
				if (v === undefined || v === null || v === '') continue;
				lines.push(`${field}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
			}
			return lines.join('\n');
		})
		.filter(Boolean)
		.join('\n\n');
}

export function documentTooLarge(source: string, size: number, maxBytes: number): RagError {
	return new RagError(
		'DOCUMENT_TOO_LARGE',
		`Document "${source}" is ${size} bytes, over the limit of ${maxBytes} bytes (raise "Max Document Size" or split the file)`,
	);
}

function byteLength(content: string | Uint8Array): number {
	return typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.byteLength;
}

/**
 * Loads one document; file bytes are decoded in their declared or detected character encoding (see decodeDocument).
 * Throws RagError: DOCUMENT_TOO_LARGE (over maxBytes), UNSUPPORTED_FORMAT (unknown type), INVALID_ENCODING (bytes
 * that are no text in any encoding), INVALID_DOCUMENT (bad JSON, unreadable PDF, bad metadata, empty source id), PDF_WITHOUT_TEXT
 * (no text layer, e.g. a scan), EMPTY_DOCUMENT (no text after loading).
 */
export async function loadDocument(input: DocumentInput): Promise<LoadedDocument> {
	const source = input.source.trim();
	if (!source)
		throw new RagError(
			'INVALID_DOCUMENT',
			'The document has no source id: give one, or use a file with a name',
		);
	const name = `Document "${source}"`;
	const maxBytes = input.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
	const size = byteLength(input.content);
	if (size > maxBytes) throw documentTooLarge(source, size, maxBytes);
	const metadata = checkMetadata(input.metadata);
	const format = formatOf(input, name);
	const { text, pageStarts } = await extractText(input, format, name, metadata);
	if (text.includes('\u0000'))
		throw new RagError(
			'UNSUPPORTED_FORMAT',
			`${name} contains NUL characters (is it a binary file?)`,
		);
	if (!text.trim())
		throw new RagError(
			'EMPTY_DOCUMENT',
			`${name} has no text${format === 'json' && input.jsonFields?.length ? ` in fields ${input.jsonFields.join(', ')}` : ''}`,
		);
	return { source, format, text, metadata, ...(pageStarts ? { pageStarts } : {}) };
}

/**
 * The format given, else the one detected from the MIME type or file name; text for a string of unknown type. Throws
 * RagError UNSUPPORTED_FORMAT for bytes of an unknown type.
 */
function formatOf(input: DocumentInput, name: string): DocumentFormat {
	const format =
		input.format && input.format !== 'auto'
			? input.format
			: detectFormat(input.mimeType, input.fileName);
	if (format) return format;
	if (typeof input.content === 'string') return 'text';
	throw new RagError(
		'UNSUPPORTED_FORMAT',
		`${name}: unsupported file type "${input.mimeType || 'unknown'}"${input.fileName ? ` (${input.fileName})` : ''}; supported: text, Markdown, HTML, PDF, JSON`,
	);
}

/**
 * The document's text in `format` (for a PDF also each page's start offset, and the page count in `metadata.pages`
 * unless given). Throws RagError as loadDocument documents.
 */
async function extractText(
	input: DocumentInput,
	format: DocumentFormat,
	name: string,
	metadata: Metadata,
): Promise<{ text: string; pageStarts?: number[] }> {
	// Decoded only when needed: a PDF's bytes are not text.
	const raw = () =>
		typeof input.content === 'string'
			? input.content
			: decodeDocument(input.content, {
					markup: format === 'html',
					mimeType: input.mimeType,
					what: name,
				});
	switch (format) {
		case 'pdf': {
			const pdf = await pdfDocumentText(input.content, name);
			metadata.pages ??= pdf.pages;
			return { text: pdf.text, pageStarts: pdf.pageStarts };
		}
		case 'html':
			return { text: htmlToText(raw()) };
		case 'json':
			return { text: jsonToText(parseJson(raw, name), input.jsonFields) };
		default:
			return { text: raw() };
	}
}

/** A PDF's text layer; throws RagError UNSUPPORTED_FORMAT for a string, PDF_WITHOUT_TEXT for a PDF without one. */
async function pdfDocumentText(
	content: string | Uint8Array,
	name: string,
): Promise<{ text: string; pageStarts: number[]; pages: number }> {
	if (typeof content === 'string')
		throw new RagError(
			'UNSUPPORTED_FORMAT',
			`${name}: a PDF must be given as binary data, not text`,
		);
	const pdf = await pdfToText(content, name);
	if (!pdf.text.trim()) {
		throw new RagError(
			'PDF_WITHOUT_TEXT',
			`${name} is a PDF without a text layer (${pdf.pages} page(s), e.g. a scan): run OCR on it first`,
		);
	}
	return pdf;
}

/**
 * Reads and parses the JSON text. Throws RagError INVALID_DOCUMENT for text that is not JSON, and also for bytes that
 * do not decode (their INVALID_ENCODING error's message kept): loaders have always reported both as "not valid JSON".
 */
function parseJson(read: () => string, name: string): unknown {
	try {
		return JSON.parse(read()) as unknown;
	} catch (error) {
		throw new RagError(
			'INVALID_DOCUMENT',
			`${name} is not valid JSON: ${(error as Error).message}`,
		);
	}
}
