/** Loaders, chunk positions, chunk ids, MMR and citation checks: lib/rag without a server. */
import fc from 'fast-check';

import {
	checkChunking,
	chunkDocument,
	chunkId,
	citationNumbers,
	decodeDocument,
	countTokens,
	detectFormat,
	jsonToText,
	loadDocument,
	markdownHeadings,
	mmrSelect,
	RagError,
	resolveCitations,
	type LoadedDocument,
	type RetrievedChunk,
} from '../../../lib/rag';
import { makePdf } from '../../support/pdf';

const utf8 = (s: string) => new TextEncoder().encode(s);

async function loadError(input: Parameters<typeof loadDocument>[0]): Promise<RagError> {
	const error = await loadDocument(input).then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(RagError);
	return error as RagError;
}

describe('detectFormat', () => {
	it.each([
		['text/markdown', 'a.bin', 'markdown'],
		['application/octet-stream', 'README.md', 'markdown'],
		['text/plain', 'notes.md', 'markdown'],
		['text/html; charset=utf-8', undefined, 'html'],
		['application/pdf', undefined, 'pdf'],
		['application/ld+json', undefined, 'json'],
		['text/csv', undefined, 'text'],
		[undefined, 'page.HTM', 'html'],
	])('%s + %s → %s', (mime, file, format) => expect(detectFormat(mime, file)).toBe(format));

	it('knows nothing of images or unknown binaries', () => {
		expect(detectFormat('image/png', 'photo.png')).toBeUndefined();
		expect(detectFormat('application/octet-stream', 'blob')).toBeUndefined();
	});
});

describe('loadDocument', () => {
	it('takes text as given and keeps metadata', async () => {
		const doc = await loadDocument({
			source: ' notes ',
			content: 'Hello\nworld',
			metadata: { team: 'core', year: 2026, draft: false, skip: null },
		});
		expect(doc).toEqual({
			source: 'notes',
			format: 'text',
			text: 'Hello\nworld',
			metadata: { team: 'core', year: 2026, draft: false },
		});
	});

	it('keeps the main text of HTML: no scripts, styles, navigation; <main> preferred over the page chrome', async () => {
		const html = `<html><head><title>T</title><style>.x{color:red}</style><script>var secret = 1;</script></head>
			<body><nav><a href="/">Home</a> Menu</nav><main><h1>Install guide</h1><p>Run <code>npm i</code> to <a href="https://x">install</a>.</p>
			<script>track()</script></main><footer>Copyright</footer></body></html>`;
		const doc = await loadDocument({ source: 'page', content: utf8(html), mimeType: 'text/html' });
		expect(doc.format).toBe('html');
		expect(doc.text).toContain('Install guide');
		expect(doc.text).toContain('Run npm i to install.');
		for (const absent of ['secret', 'color:red', 'track()', 'Menu', 'Copyright', 'https://x'])
			expect(doc.text).not.toContain(absent);
	});

	it('writes HTML headings as Markdown headings, so chunks of a page carry their section path', async () => {
		const html = `<main><h1>Manifest</h1><p>Intro.</p><h2>The <a href="#p">publish</a> field</h2><p>${'Set publish = false to keep a crate private. '.repeat(30)}</p>
			<h2>The edition field</h2><p>${'The edition key selects the Rust edition. '.repeat(30)}</p></main>`;
		const doc = await loadDocument({
			source: 'manifest.html',
			content: utf8(html),
			format: 'html',
		});
		expect(doc.text).toMatch(/^# Manifest\n/);
		expect(doc.text).toContain('\n## The publish field\n');
		const chunks = await chunkDocument(doc, { chunkSize: 1000, chunkOverlap: 0 });
		const pathOf = (needle: string) => chunks.find((c) => c.text.includes(needle))?.headingPath;
		expect(pathOf('publish = false')).toBe('Manifest > The publish field');
		expect(pathOf('edition key')).toBe('Manifest > The edition field');
		// Split at the sections: no chunk holds the end of one section and the start of the next.
		expect(chunks.some((c) => c.text.includes('private.') && c.text.includes('edition key'))).toBe(
			false,
		);
	});

	it('falls back to <body> when there is no <main> or <article>', async () => {
		const doc = await loadDocument({
			source: 'p',
			content: '<body><p>Plain body</p><script>x()</script></body>',
			format: 'html',
		});
		expect(doc.text).toBe('Plain body');
	});

	it('reads the text layer of a PDF and records where each page starts', async () => {
		const pdf = makePdf([
			['Chapter one', 'Redis keeps data in memory.'],
			['Chapter two', 'Postgres writes a WAL.'],
		]);
		const doc = await loadDocument({
			source: 'book.pdf',
			content: pdf,
			mimeType: 'application/pdf',
		});
		expect(doc.format).toBe('pdf');
		expect(doc.metadata.pages).toBe(2);
		expect(doc.pageStarts).toHaveLength(2);
		expect(doc.text.slice(doc.pageStarts![1])).toMatch(/^Chapter two/);
		expect(doc.text.slice(0, doc.pageStarts![1])).toContain('Redis keeps data in memory.');
		expect(pdf.subarray(0, 5).toString()).toBe('%PDF-'); // the caller's buffer is left intact
	});

	it('indexes chosen JSON fields, one record per array element', async () => {
		const json = JSON.stringify([
			{ title: 'A', body: { text: 'first' }, id: 1 },
			{ title: 'B', body: { text: 'second' }, id: 2 },
		]);
		const doc = await loadDocument({
			source: 'faq.json',
			content: utf8(json),
			fileName: 'faq.json',
			jsonFields: ['title', 'body.text'],
		});
		expect(doc.text).toBe('title: A\nbody.text: first\n\ntitle: B\nbody.text: second');
		expect(jsonToText({ a: { b: [1, 'x'] }, c: null })).toBe('a.b[0]: 1\na.b[1]: x');
	});

	it.each<[string, Parameters<typeof loadDocument>[0], string, RegExp]>([
		['empty text', { source: 's', content: '  \n ' }, 'EMPTY_DOCUMENT', /Document "s" has no text/],
		[
			'JSON without the fields',
			{ source: 'j', content: '{"a":1}', format: 'json', jsonFields: ['b'] },
			'EMPTY_DOCUMENT',
			/no text in fields b/,
		],
		[
			'an image',
			{
				source: 'p.png',
				content: new Uint8Array([137, 80, 78, 71]),
				mimeType: 'image/png',
				fileName: 'p.png',
			},
			'UNSUPPORTED_FORMAT',
			/unsupported file type "image\/png" \(p\.png\)/,
		],
		[
			'binary bytes as text',
			{ source: 'b', content: new Uint8Array([0x89, 0x50, 0x00, 0xc3, 0x28]), format: 'text' },
			'INVALID_ENCODING',
			/Document "b" is not text in any known character encoding/,
		],
		[
			'a PDF without text',
			{ source: 'scan.pdf', content: makePdf([[], []]), format: 'pdf' },
			'PDF_WITHOUT_TEXT',
			/without a text layer \(2 page\(s\)/,
		],
		[
			'a broken PDF',
			{ source: 'x.pdf', content: utf8('%PDF-1.4 nonsense'), format: 'pdf' },
			'INVALID_DOCUMENT',
			/Document "x\.pdf" is not a readable PDF/,
		],
		[
			'invalid JSON',
			{ source: 'j', content: '{oops', format: 'json' },
			'INVALID_DOCUMENT',
			/not valid JSON/,
		],
		[
			'an oversize item',
			{ source: 'big', content: 'x'.repeat(101), maxBytes: 100 },
			'DOCUMENT_TOO_LARGE',
			/101 bytes, over the limit of 100 bytes/,
		],
		['no source id', { source: ' ', content: 'text' }, 'INVALID_DOCUMENT', /no source id/],
		[
			'a reserved metadata key',
			{ source: 's', content: 't', metadata: { source: 'other' } },
			'INVALID_DOCUMENT',
			/"source" is reserved/,
		],
		[
			'an object as metadata',
			{ source: 's', content: 't', metadata: { tags: ['a'] } },
			'INVALID_DOCUMENT',
			/"tags" must be a string, finite number or boolean, got an array/,
		],
	])('rejects %s with a clear error', async (_, input, code, message) => {
		const error = await loadError(input);
		expect(error.code).toBe(code);
		expect(error.message).toMatch(message);
	});
});

const markdown = `# Guide

Intro paragraph about the guide.

## Install

\`\`\`sh
# not a heading: inside a code fence
npm install
\`\`\`

### Linux

Use the package manager. ${'Linux details. '.repeat(20)}

## Usage

Call the API. ${'Usage details. '.repeat(20)}
`;

const doc = (text: string, format: LoadedDocument['format'] = 'text'): LoadedDocument => ({
	source: 's',
	format,
	text,
	metadata: {},
});

describe('chunkDocument', () => {
	it('gives every chunk its exact character offsets, in document order, within the size limit', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc
					.array(fc.oneof(fc.lorem({ maxCount: 30 }), fc.constantFrom('\n\n', '\n', '. ', '  ')), {
						minLength: 1,
						maxLength: 40,
					})
					.map((parts) => parts.join(' ')),
				fc.integer({ min: 20, max: 300 }),
				fc.integer({ min: 0, max: 19 }),
				async (text, chunkSize, chunkOverlap) => {
					const chunks = await chunkDocument(doc(text), { chunkSize, chunkOverlap });
					let previousStart = -1;
					chunks.forEach((chunk, i) => {
						expect(chunk.index).toBe(i);
						expect(text.slice(chunk.start, chunk.end)).toBe(chunk.text);
						expect(chunk.start).toBeGreaterThanOrEqual(previousStart);
						expect(chunk.text.length).toBeLessThanOrEqual(chunkSize);
						previousStart = chunk.start;
					});
					// Every word of the document is in some chunk.
					const covered = chunks.map((c) => c.text).join(' ');
					for (const word of text.split(/\s+/).filter(Boolean)) expect(covered).toContain(word);
				},
			),
			{ numRuns: 200 },
		);
	});

	it('overlaps neighbouring chunks by up to chunkOverlap characters', async () => {
		const text = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
		const chunks = await chunkDocument(doc(text), { chunkSize: 100, chunkOverlap: 30 });
		expect(chunks.length).toBeGreaterThan(5);
		for (let i = 1; i < chunks.length; i++) {
			const overlap = chunks[i - 1].end - chunks[i].start;
			expect(overlap).toBeGreaterThan(0);
			expect(overlap).toBeLessThanOrEqual(30);
		}
	});

	it('records the Markdown heading path, ignoring "#" lines in code fences', async () => {
		expect(markdownHeadings(markdown).map((h) => `${h.level}:${h.title}`)).toEqual([
			'1:Guide',
			'2:Install',
			'3:Linux',
			'2:Usage',
		]);
		const chunks = await chunkDocument(doc(markdown, 'markdown'), {
			chunkSize: 200,
			chunkOverlap: 0,
		});
		const pathOf = (needle: string) => chunks.find((c) => c.text.includes(needle))?.headingPath;
		expect(pathOf('Intro paragraph')).toBe('Guide');
		expect(pathOf('Use the package manager')).toBe('Guide > Install > Linux');
		expect(pathOf('Call the API')).toBe('Guide > Usage');
	});

	it('counts size in cl100k_base tokens when asked', async () => {
		const text = Array.from({ length: 300 }, (_, i) => `token${i} and more`).join(' ');
		const chunks = await chunkDocument(doc(text), {
			chunkSize: 50,
			chunkOverlap: 10,
			unit: 'tokens',
		});
		expect(chunks.length).toBeGreaterThan(5);
		for (const chunk of chunks) expect(countTokens(chunk.text)).toBeLessThanOrEqual(50);
		expect(Math.max(...chunks.map((c) => c.text.length))).toBeGreaterThan(50); // characters would have cut smaller
	});

	it('gives PDF chunks their page', async () => {
		const loaded = await loadDocument({
			source: 'b.pdf',
			content: makePdf([['Alpha page text.'], ['Beta page text.'], ['Gamma page text.']]),
			format: 'pdf',
		});
		const chunks = await chunkDocument(loaded, { chunkSize: 20, chunkOverlap: 0 });
		expect(chunks.map((c) => [c.text, c.page])).toEqual([
			['Alpha page text.', 1],
			['Beta page text.', 2],
			['Gamma page text.', 3],
		]);
	});

	it.each([
		[{ chunkSize: 0 }, /Chunk size must be a whole number ≥ 1, got 0/],
		[
			{ chunkSize: 100, chunkOverlap: 100 },
			/Chunk overlap must be a whole number from 0 to chunk size − 1 \(99\), got 100/,
		],
		[{ chunkOverlap: -1 }, /got -1/],
		[{ unit: 'words' as never }, /"characters" or "tokens"/],
	])('rejects %j', (options, message) => {
		expect(() => checkChunking(options)).toThrow(message);
	});
});

describe('chunkId', () => {
	it('is a SHA-256 of (knowledge base, source, text): stable, and different when any part differs', () => {
		const id = chunkId('kb', 'a.md', 'text');
		expect(id).toMatch(/^[0-9a-f]{64}$/);
		expect(chunkId('kb', 'a.md', 'text')).toBe(id);
		expect(
			new Set([
				id,
				chunkId('kb2', 'a.md', 'text'),
				chunkId('kb', 'b.md', 'text'),
				chunkId('kb', 'a.md', 'text2'),
			]).size,
		).toBe(4);
		// The separator keeps boundaries: ("ab", "c") and ("a", "bc") differ.
		expect(chunkId('kb', 'ab', 'c')).not.toBe(chunkId('kb', 'a', 'bc'));
	});
});

describe('mmrSelect', () => {
	const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
	const query = unit([1, 0, 0]);
	// Two near-duplicates close to the query, one different but still relevant document.
	const candidates = [unit([1, 0.05, 0]), unit([1, 0.06, 0]), unit([0.7, 0, 0.7])];

	it('with λ = 1 ranks by relevance alone', () => {
		expect(mmrSelect(query, candidates, 1, 3)).toEqual([0, 1, 2]);
	});

	it('with λ = 0.5 prefers the different document over the near-duplicate', () => {
		expect(mmrSelect(query, candidates, 0.5, 2)).toEqual([0, 2]);
	});

	it('never returns more than it was given, nor the same index twice', () => {
		fc.assert(
			fc.property(
				fc.array(
					fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
					{ maxLength: 12 },
				),
				fc.integer({ min: 1, max: 20 }),
				fc.double({ min: 0, max: 1, noNaN: true }),
				(vectors, k, lambda) => {
					const picked = mmrSelect(
						query,
						vectors.map((v) => v.map((x) => x + 1e-3)),
						lambda,
						k,
					);
					expect(picked.length).toBe(Math.min(k, vectors.length));
					expect(new Set(picked).size).toBe(picked.length);
				},
			),
			{ numRuns: 300 },
		);
	});
});

describe('citations', () => {
	const chunk = (source: string, n: number): RetrievedChunk => ({
		id: `${n}`,
		text: `text ${n}`,
		source,
		chunkIndex: n,
		start: 0,
		end: 6,
		headingPath: '',
		score: 0.9,
		metadata: {},
	});
	const chunks = [chunk('a.md', 0), chunk('b.md', 1), chunk('a.md', 2)];

	it('reads [n], [n, m] and [n][m] in order of first use', () => {
		expect(citationNumbers('x [2]. y [1, 3] z [3][2]')).toEqual([2, 1, 3]);
	});

	it('maps citations to sources and removes numbers that match no passage', () => {
		const resolved = resolveCitations('Redis is fast [1][7]. Pools [2, 9]. Nothing [0].', chunks);
		expect(resolved.answer).toBe('Redis is fast [1]. Pools [2]. Nothing.');
		expect(resolved.invalidCitations).toEqual([7, 9, 0]);
		expect(resolved.citations.map((c) => [c.n, c.source])).toEqual([
			[1, 'a.md'],
			[2, 'b.md'],
		]);
		expect(resolved.sources).toEqual(['a.md', 'b.md']);
	});
});

describe('decodeDocument (character encodings)', () => {
	const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
	const what = 'Document "d"';

	it.each<[string, Uint8Array, { markup: boolean; mimeType?: string }, string]>([
		[
			'UTF-8 with a byte order mark',
			new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('héllo')]),
			{ markup: false },
			'héllo',
		],
		[
			'UTF-16 LE with a byte order mark',
			new Uint8Array([0xff, 0xfe, ...Buffer.from('Grüße', 'utf16le')]),
			{ markup: false },
			'Grüße',
		],
		[
			'UTF-16 BE with a byte order mark',
			new Uint8Array([0xfe, 0xff, ...Buffer.from('Grüße', 'utf16le').swap16()]),
			{ markup: false },
			'Grüße',
		],
		[
			'the transport charset',
			latin1('caf\xe9'),
			{ markup: false, mimeType: 'text/plain; charset=ISO-8859-1' },
			'café',
		],
		[
			'detected Latin-1 text',
			latin1("Les \xe9l\xe8ves ont r\xe9vis\xe9 leurs le\xe7ons d'histoire et de fran\xe7ais."),
			{ markup: false },
			"Les élèves ont révisé leurs leçons d'histoire et de français.",
		],
		[
			'an XML declaration',
			latin1('<?xml version="1.0" encoding="ISO-8859-1"?><p>na\xefve</p>'),
			{ markup: true },
			'<p>naïve</p>',
		],
		[
			'<meta charset>',
			latin1('<meta charset="windows-1252"><p>\x93q\x94</p>'),
			{ markup: true },
			'<p>\u201cq\u201d</p>',
		],
		[
			'<meta http-equiv>',
			latin1('<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>\xe0</p>'),
			{ markup: true },
			'<p>à</p>',
		],
		[
			'undeclared UTF-8 markup',
			new Uint8Array(Buffer.from('<p>日本語</p>')),
			{ markup: true },
			'<p>日本語</p>',
		],
	])('decodes %s', (_name, bytes, options, expected) => {
		expect(decodeDocument(bytes, { ...options, what })).toContain(expected);
	});

	it('refuses bytes that are no text, naming the document', () => {
		expect(() =>
			decodeDocument(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]), {
				markup: false,
				what,
			}),
		).toThrow(
			expect.objectContaining({
				code: 'INVALID_ENCODING',
				message: expect.stringContaining('Document "d"'),
			}),
		);
		expect(() =>
			decodeDocument(latin1('caf\xe9'), {
				markup: false,
				mimeType: 'text/plain; charset=utf-8',
				what,
			}),
		).toThrow(expect.objectContaining({ code: 'INVALID_ENCODING' }));
	});
});
