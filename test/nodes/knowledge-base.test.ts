/** The Knowledge Base node in workflows run in-process, on a real Chroma server with the offline model server. */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';

import Redis from 'ioredis';
import type { ICredentialDataDecryptedObject, INodeParameters } from 'n8n-workflow';

import { closeKeywordIndexClients } from '../../nodes/shared/clients/keywordIndex';
import { ChromaKnowledgeStore } from '../../lib/rag';
import { NoRetryPolicy } from '../../lib/retry';
import { redisFromEnv } from '../../stack/services';
import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer } from '../../stack/model-server';
import { makePdf } from '../support/pdf';
import { freePort } from '../../stack/process';
import { testNodeTypes, testRerankerCalls } from '../support/test-nodes';
import {
	chromaCredential,
	offlineLlmCredential,
	redisStoreCredential,
} from '../support/credentials';
import { itemsInto, runWorkflow, type WorkflowJson } from '../support/workflow-runner';
import { roomInWindow } from '../support/windows';

const model = new OfflineModelServer({ apiKey: 'sk-kb-nodes-secret' });
const narrowModel = new OfflineModelServer({ embeddingDimensions: 64 });
let chroma: ChromaServer;
let llmUrl: string;
let narrowUrl: string;

beforeAll(async () => {
	[chroma, llmUrl, narrowUrl] = await Promise.all([
		startChroma(),
		model.start(),
		narrowModel.start(),
	]);
}, 60_000);
afterAll(async () => {
	closeKeywordIndexClients();
	await Promise.all([chroma?.stop(), model.stop(), narrowModel.stop()]);
});
beforeEach(() => model.reset());

const NO_RETRY = { retryPolicy: { type: 'none' } };

function flow(items: object[], parameters: INodeParameters, continueOnFail = false): WorkflowJson {
	const credentials = {
		openAgentsChromaApi: { id: '1', name: 'chroma' },
		openAgentsLlmApi: { id: '2', name: 'llm' },
	};
	return itemsInto(items, {
		name: 'KB',
		type: 'openAgentsKnowledgeBase',
		parameters: { ...NO_RETRY, ...parameters },
		credentials,
		continueOnFail,
	});
}

function exec(
	items: object[],
	parameters: INodeParameters,
	{
		continueOnFail = false,
		chromaUrl = chroma.url,
		embeddingsUrl = llmUrl,
		llm = {} as Record<string, unknown>,
	} = {},
) {
	return runWorkflow(flow(items, parameters, continueOnFail), {
		nodeTypes: testNodeTypes,
		credentials: {
			openAgentsChromaApi: chromaCredential(chromaUrl),
			openAgentsLlmApi: { ...offlineLlmCredential(embeddingsUrl, 'sk-kb-nodes-secret'), ...llm },
		},
	});
}
const json = (result: Awaited<ReturnType<typeof exec>>) =>
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shapes are asserted field by field below
	result.outputs.KB[0].map((i) => i.json as Record<string, any>);
const file = (
	content: string | Buffer,
	mimeType: string,
	fileName: string,
	directory?: string,
) => ({
	$binary: {
		data: { base64: Buffer.from(content).toString('base64'), mimeType, fileName, directory },
	},
});

const guide = `# Retry guide\n\n## Backoff\n\nThe client waits 500 ms before the first retry and doubles the wait each time.\n\n## Limits\n\nAt most three retries are made; then the call fails with RetryExhaustedError.`;
const page = `<html><body><nav>Home | Docs</nav><main><h1>Pools</h1><p>The pool keeps at most ten idle connections.</p><script>analytics()</script></main></body></html>`;
const faq = JSON.stringify([
	{
		q: 'Where are logs kept?',
		a: 'Logs are kept for thirty days in the archive bucket.',
		internal: 'ignore me',
	},
]);
const manual = makePdf([
	[
		'Manual page one: install the agent with the package manager of your system,',
		'then start it as a service.',
	],
	[
		'Manual page two: once started, the agent listens on port 5678',
		'and writes its log to the system journal.',
	],
]);

const ingestItems = [
	{ text: guide, sourceId: 'guide.md', format: 'markdown', team: 'platform' },
	file(page, 'text/html', 'pools.html'),
	file(faq, 'application/json', 'faq.json'),
	file(manual, 'application/pdf', 'manual.pdf'),
];
const ingestParams = (knowledgeBase: string): INodeParameters => ({
	operation: 'ingest',
	knowledgeBase,
	inputType: '={{ "text" in $json ? "text" : "binary" }}',
	text: '={{ $json.text }}',
	sourceId: '={{ $json.sourceId ?? "" }}',
	format: '={{ $json.format ?? "auto" }}',
	jsonFields: 'q, a',
	metadata: '={{ JSON.stringify({ team: $json.team ?? "docs" }) }}',
	options: { chunkSize: 120, chunkOverlap: 20 },
});

describe('Ingest', () => {
	it('ingests text, Markdown, HTML, JSON and PDF items; a re-run changes nothing and embeds nothing', async () => {
		const first = await exec(ingestItems, ingestParams('kb-nodes'));
		expect(first.status).toBe('success');
		const out = json(first);
		expect(out.map((o) => [o.source, o.format])).toEqual([
			['guide.md', 'markdown'],
			['pools.html', 'html'],
			['faq.json', 'json'],
			['manual.pdf', 'pdf'],
		]);
		for (const o of out)
			expect(o).toMatchObject({
				knowledgeBase: 'kb-nodes',
				unchanged: 0,
				removed: 0,
				added: o.chunks,
			});
		expect(out[0].chunks).toBeGreaterThanOrEqual(2);
		expect(out[0].batch).toMatchObject({ documents: 4, embeddingCalls: 1, upsertRequests: 1 });
		expect(first.outputs.KB[0].map((i) => i.pairedItem)).toEqual(
			[0, 1, 2, 3].map((item) => ({ item })),
		);
		expect(model.requestsTo('embeddings')).toHaveLength(1);

		model.reset();
		const again = await exec(ingestItems, ingestParams('kb-nodes'));
		expect(json(again).map((o) => [o.added, o.unchanged, o.removed])).toEqual(
			out.map((o) => [0, o.chunks, 0]),
		);
		expect(json(again)[0].batch.embeddingCalls).toBe(0);
		expect(model.requestsTo('embeddings')).toHaveLength(0);
	});

	it('with Continue On Fail, bad items become error items naming the cause while good ones are ingested', async () => {
		const items = [
			{ text: 'Redis keeps keys in memory.', sourceId: 'good-1' },
			{ text: '   ', sourceId: 'empty' },
			file(Buffer.from([137, 80, 78, 71, 0, 0]), 'image/png', 'photo.png'),
			file(makePdf([[]]), 'application/pdf', 'scan.pdf'),
			{ text: 'x'.repeat(2000), sourceId: 'too-big' },
			{ text: 'Postgres writes ahead.', sourceId: 'good-2' },
		];
		const result = await exec(
			items,
			{ ...ingestParams('kb-bad-input'), metadata: '{}', options: { maxDocumentSizeMb: 0.001 } },
			{ continueOnFail: true },
		);
		expect(result.status).toBe('success');
		const out = json(result);
		expect(out.map((o) => o.code ?? o.source)).toEqual([
			'good-1',
			'EMPTY_DOCUMENT',
			'UNSUPPORTED_FORMAT',
			'PDF_WITHOUT_TEXT',
			'DOCUMENT_TOO_LARGE',
			'good-2',
		]);
		expect(out[1].error).toBe('Item 1: Document "empty" has no text');
		expect(out[2].error).toMatch(/Item 2: .*unsupported file type "image\/png" \(photo\.png\)/);
		expect(out[3].error).toMatch(/Item 3: Document "scan\.pdf" is a PDF without a text layer/);
		expect(out[4].error).toMatch(
			/Item 4: Document "too-big" is 2000 bytes, over the limit of 1049 bytes/,
		);
		expect(result.outputs.KB[0].map((i) => i.pairedItem)).toEqual(
			[0, 1, 2, 3, 4, 5].map((item) => ({ item })),
		);

		const stats = await exec([{}], {
			operation: 'stats',
			knowledgeBase: 'kb-bad-input',
			includeSources: true,
		});
		expect(json(stats)[0]).toMatchObject({
			chunks: 2,
			sources: 2,
			sourceCounts: [
				{ source: 'good-1', chunks: 1 },
				{ source: 'good-2', chunks: 1 },
			],
		});
	});

	it('without Continue On Fail, the first bad item fails the run with its index, after the good ones are ingested', async () => {
		const result = await exec(
			[
				{ text: 'fine', sourceId: 'a' },
				{ text: '', sourceId: 'b' },
				{ text: 'also fine', sourceId: 'c' },
			],
			{ ...ingestParams('kb-fail'), metadata: '{}' },
		);
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('Item 1: Document "b" has no text');
		expect((result.error as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(1);
		const stats = await exec([{}], {
			operation: 'stats',
			knowledgeBase: 'kb-fail',
			includeSources: true,
		});
		expect(json(stats)[0].sourceCounts.map((s: { source: string }) => s.source)).toEqual([
			'a',
			'c',
		]);
	});

	it('Item Fields reads the text and the source ID from the item (dot notation for nested fields) and stores what Text with expressions stores; a missing or non-text field is its item error', async () => {
		const items = [
			{ doc: { body: guide, id: 'guide.md' } },
			{ doc: { body: 42, id: 7 } },
			{ doc: { id: 'missing' } },
			{ doc: { body: { nested: true }, id: 'object' } },
			{ doc: { body: 'Text without a source ID.' } },
		];
		const params = {
			operation: 'ingest',
			inputType: 'fields',
			textField: 'doc.body',
			sourceIdField: 'doc.id',
			// Shown for the other inputs only: Item Fields must not read it.
			sourceId: 'not-this',
			format: 'markdown',
			options: { chunkSize: 120, chunkOverlap: 20 },
		};
		const result = await exec(
			items,
			{ ...params, knowledgeBase: 'kb-field' },
			{ continueOnFail: true },
		);
		const out = json(result);
		expect(out.map((o) => o.code ?? o.source)).toEqual([
			'guide.md',
			'7',
			'INVALID_DOCUMENT',
			'INVALID_DOCUMENT',
			'INVALID_DOCUMENT',
		]);
		expect(out[2].error).toBe('Item 2: The item has no "doc.body" field (Text Field)');
		expect(out[3].error).toMatch(
			/^Item 3: The item's "doc.body" field holds an object, not text \(Text Field\)/,
		);
		expect(out[4].error).toBe('Item 4: The item has no "doc.id" field (Source ID Field)');
		expect(result.outputs.KB[0].map((i) => i.pairedItem)).toEqual(
			[0, 1, 2, 3, 4].map((item) => ({ item })),
		);

		// The same document through Text and expressions: the same chunks, at the same places.
		await exec([{ text: guide, sourceId: 'guide.md' }], {
			...params,
			knowledgeBase: 'kb-field-expression',
			inputType: 'text',
			text: '={{ $json.text }}',
			sourceId: '={{ $json.sourceId }}',
		});
		const chunks = async (name: string) => {
			const store = new ChromaKnowledgeStore({ url: chroma.url }, { policy: new NoRetryPolicy() });
			const stored = await (
				await store.open(name)
			).collection.get({
				where: { source: 'guide.md' },
				include: ['documents', 'metadatas'] as never,
			});
			return stored.documents
				.map((text, i) => `${stored.metadatas[i]?.start}-${stored.metadatas[i]?.end}: ${text}`)
				.sort();
		};
		expect(out[0].chunks).toBeGreaterThan(1);
		expect(await chunks('kb-field')).toHaveLength(out[0].chunks);
		expect(await chunks('kb-field')).toEqual(await chunks('kb-field-expression'));
	});

	describe('character encodings', () => {
		const latin1Html = Buffer.from(
			'<?xml version="1.0" encoding="ISO-8859-1"?>\n<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"></head>' +
				'<body><main><p>Le caf\xe9 cr\xe8me co\xfbte deux euros \xe0 la cantine.</p></main></body></html>',
			'latin1',
		);
		const metaOnly = Buffer.from(
			'<html><head><meta charset="windows-1252"></head><body><p>\x93Smart quotes\x94 \x96 from Windows.</p></body></html>',
			'latin1',
		);
		const utf16 = Buffer.concat([
			Buffer.from([0xff, 0xfe]),
			Buffer.from('Grüße: UTF-16 text with a byte order mark.', 'utf16le'),
		]);
		const latin1Text = Buffer.from(
			"Les \xe9l\xe8ves ont r\xe9vis\xe9 leurs le\xe7ons pour l'examen de fran\xe7ais ce matin.",
			'latin1',
		);
		const binary = Buffer.from([
			0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0xd8,
		]);
		const items = [
			file(latin1Html, 'text/html', 'cafe.html'),
			file(metaOnly, 'text/html', 'quotes.html'),
			file(utf16, 'text/plain', 'utf16.txt'),
			file(latin1Text, 'text/plain', 'latin1.txt'),
			file(binary, 'text/plain', 'image.txt'),
			file(
				'# Still here\n\nThe document after the bad one is ingested too.',
				'text/markdown',
				'after.md',
			),
		];
		const params = { ...ingestParams('kb-charsets'), metadata: '{}' };
		const queried = async (query: string) =>
			json(
				await exec([{}], { operation: 'query', knowledgeBase: 'kb-charsets', query, topK: 10 }),
			)[0].results as Array<{ source: string; text: string }>;

		it('decodes each file in its declared or detected encoding; an undecodable one is its item error only', async () => {
			const result = await exec(items, params, { continueOnFail: true });
			const out = json(result);
			expect(out.map((o) => o.error ?? o.source)).toEqual([
				'cafe.html',
				'quotes.html',
				'utf16.txt',
				'latin1.txt',
				expect.stringMatching(
					/^Item 4: Document "image\.txt" is not text in any known character encoding/,
				),
				'after.md',
			]);
			expect(out[4].code).toBe('INVALID_ENCODING');
			const texts = (await queried('café crème élèves Grüße smart quotes'))
				.map((r) => r.text)
				.join('\n');
			expect(texts).toContain('Le café crème coûte deux euros à la cantine.');
			expect(texts).toContain('\u201cSmart quotes\u201d \u2013 from Windows.');
			expect(texts).toContain('Grüße: UTF-16 text with a byte order mark.');
			expect(texts).toContain(
				"Les élèves ont révisé leurs leçons pour l'examen de français ce matin.",
			);
			expect(texts).not.toMatch(/\uFFFD|Ã©/); // no replacement characters, no UTF-8 misreadings
		});

		it('without Continue On Fail the good documents are ingested too, then the run fails naming the file', async () => {
			await exec([{}], {
				operation: 'delete',
				knowledgeBase: 'kb-charsets',
				deleteBy: 'knowledgeBase',
			});
			const result = await exec(items, params);
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/^Item 4: Document "image\.txt"/);
			const stats = await exec([{}], {
				operation: 'stats',
				knowledgeBase: 'kb-charsets',
				includeSources: true,
			});
			expect(json(stats)[0].sources).toBe(5);
		});
	});

	it('defaults the source ID to the file path when n8n knows the folder, so equal file names stay apart', async () => {
		const readmes = [
			file('# alpha\n\nAlpha retries three times.', 'text/markdown', 'README.md', '/docs/alpha'),
			file('# beta\n\nBeta never retries.', 'text/markdown', 'README.md', '/docs/beta/'),
			file('# gamma\n\nGamma came over HTTP, without a folder.', 'text/markdown', 'README.md'),
		];
		const result = await exec(readmes, {
			...ingestParams('kb-paths'),
			sourceId: '',
			metadata: '{}',
		});
		expect(json(result).map((o) => o.source)).toEqual([
			'/docs/alpha/README.md',
			'/docs/beta/README.md',
			'README.md',
		]);
		const stats = await exec([{}], { operation: 'stats', knowledgeBase: 'kb-paths' });
		expect(json(stats)[0]).toMatchObject({ sources: 3 });
	});

	it('refuses an embedding model whose vectors differ from the stored ones, and keeps what is stored', async () => {
		await exec([{ text: 'Stored with 256 dimensions.', sourceId: 'a' }], {
			...ingestParams('kb-dims'),
			metadata: '{}',
		});
		const result = await exec(
			[{ text: 'Another document.', sourceId: 'b' }],
			{ ...ingestParams('kb-dims'), metadata: '{}' },
			{ continueOnFail: true, embeddingsUrl: narrowUrl },
		);
		expect(json(result)[0]).toMatchObject({
			code: 'DIMENSION_MISMATCH',
			error: expect.stringMatching(
				/holds 256-dimensional vectors, but the embedding model "offline-embedding" returned 64/,
			),
		});
		const stats = await exec([{}], { operation: 'stats', knowledgeBase: 'kb-dims' });
		expect(json(stats)[0]).toMatchObject({ chunks: 1, sources: 1, dimension: 256 });
	});

	it('a re-run whose metadata changed rewrites that metadata without re-embedding; a key left out is removed', async () => {
		const doc = (metadata: string) =>
			exec(
				[{ text: '# Tiers\n\nGold customers get a reply within one hour.', sourceId: 'tiers.md' }],
				{
					...ingestParams('kb-metadata'),
					metadata,
				},
			);
		const teamOf = async () => {
			const found = async (filter: string) =>
				json(
					await exec([{}], {
						operation: 'query',
						knowledgeBase: 'kb-metadata',
						query: 'gold reply',
						options: { metadataFilter: filter },
					}),
				)[0].results.length;
			return {
				support: await found('{"team": "support"}'),
				sales: await found('{"team": "sales"}'),
				region: await found('{"region": "eu"}'),
			};
		};
		const [first] = json(await doc('{"team": "support", "region": "eu"}'));
		expect(await teamOf()).toEqual({ support: 1, sales: 0, region: 1 });

		model.reset();
		const [second] = json(await doc('{"team": "sales"}'));
		expect(second).toMatchObject({ added: 0, updated: first.chunks, unchanged: 0, removed: 0 });
		expect(second.batch.embeddingCalls).toBe(0);
		expect(model.requestsTo('embeddings').filter((r) => r.path === '/embeddings')).toHaveLength(0);
		expect(await teamOf()).toEqual({ support: 0, sales: 1, region: 0 });

		const [third] = json(await doc('{"team": "sales"}'));
		expect(third).toMatchObject({ added: 0, updated: 0, unchanged: first.chunks });
	});

	it('works with Chroma behind a reverse proxy under a path prefix', async () => {
		// The proxy serves Chroma under /vector-db/ only: a request that drops the prefix gets 404.
		const proxy = createServer((req, res) => {
			if (!req.url?.startsWith('/vector-db/')) return void res.writeHead(404).end('not here');
			const upstream = httpRequest(
				{
					host: chroma.host,
					port: chroma.port,
					path: req.url.slice('/vector-db'.length),
					method: req.method,
					headers: req.headers,
				},
				(answer) => {
					res.writeHead(answer.statusCode ?? 502, answer.headers);
					answer.pipe(res);
				},
			);
			req.pipe(upstream);
		});
		await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
		const chromaUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/vector-db`;
		try {
			const ingested = await exec(
				[{ text: 'Proxies forward requests under a path prefix.', sourceId: 'proxy.md' }],
				{ ...ingestParams('kb-behind-proxy'), metadata: '{}' },
				{ chromaUrl },
			);
			expect(json(ingested)[0]).toMatchObject({ source: 'proxy.md', added: 1 });
			const found = await exec(
				[{}],
				{ operation: 'query', knowledgeBase: 'kb-behind-proxy', query: 'path prefix' },
				{ chromaUrl },
			);
			expect(json(found)[0].results[0]).toMatchObject({ source: 'proxy.md' });
		} finally {
			await new Promise<void>((resolve) => proxy.close(() => resolve()));
		}
	});

	it('reports Chroma down per item, with the URL and the attempts made', async () => {
		const down = `http://127.0.0.1:${await freePort()}`;
		const result = await exec(
			[{ text: 'a', sourceId: 'a' }],
			{
				...ingestParams('kb-down'),
				metadata: '{}',
				retryPolicy: { type: 'fixed', maxRetries: 1, delay: 10 },
			},
			{ continueOnFail: true, chromaUrl: down },
		);
		expect(json(result)[0]).toMatchObject({
			code: 'STORE_UNAVAILABLE',
			error: expect.stringContaining(
				`Cannot reach Chroma at ${down} to create knowledge base "kb-down" after 2 attempts`,
			),
		});
		expect(JSON.stringify(json(result))).not.toContain('sk-kb-nodes-secret');
	});
});

describe('Provider limits', () => {
	it("keeps ingest's embedding requests under the credential's rate limit and reports the batch's wait and cost", async () => {
		const kb = `kb-limits-${randomUUID()}`;
		const windowEnd = await roomInWindow(1_000, 990); // one request per 1 s window, from a window's start
		const result = await exec(
			[{ text: 'Alpha retries three times.' }, { text: 'Beta never retries.' }],
			{
				operation: 'ingest',
				knowledgeBase: kb,
				inputType: 'text',
				text: '={{ $json.text }}',
				sourceId: '={{ $json.text }}',
				options: { embeddingBatchSize: 1 },
			},
			{
				llm: {
					rateLimitStore: 'process',
					requestsPerMinute: 60,
					rateLimitName: kb,
					prices: { 'offline-embedding': { input: 1_000, output: 0 } },
				},
			},
		);
		const [first] = json(result);
		const times = model.requestsTo('embeddings').map((r) => r.receivedAt);
		expect(times).toHaveLength(2);
		expect(Math.max(...times)).toBeGreaterThanOrEqual(windowEnd); // the second in the next window
		expect(first.batch.usage.rateLimitWaitMs).toBeGreaterThanOrEqual(900);
		expect(first.batch.usage.cost).toBeGreaterThan(0);
		expect(Number(result.run.data.resultData.metadata?.openagents_cost)).toBeCloseTo(
			first.batch.usage.cost,
			8,
		);
	}, 30_000);
});

describe('Search Mode and reranking', () => {
	const KB = 'kb-modes';
	const docs = [
		{
			text: '# Retries\n\nThe client retries a failed request three times before giving up.',
			sourceId: 'retries.md',
			format: 'markdown',
		},
		{
			text: '# Timeouts\n\nSet socketTimeoutMs to end a request that hangs; the client then retries it.',
			sourceId: 'timeouts.md',
			format: 'markdown',
		},
		{
			text: '# Logging\n\nThe client logs each request and its response when debug is enabled.',
			sourceId: 'logging.md',
			format: 'markdown',
		},
	];
	const query = (extra: INodeParameters, subNodes = false) => {
		const workflow = flow([{}], {
			operation: 'query',
			knowledgeBase: KB,
			query: 'socketTimeoutMs',
			topK: 3,
			...extra,
		});
		if (subNodes) {
			workflow.nodes.push({
				id: 'r',
				name: 'Reranker',
				type: 'test.reranker',
				typeVersion: 1,
				position: [200, 200],
				parameters: { prefer: 'logs' },
			});
			workflow.connections.Reranker = {
				ai_reranker: [[{ node: 'KB', type: 'ai_reranker', index: 0 }]],
			};
		}
		return runWorkflow(workflow, {
			nodeTypes: testNodeTypes,
			credentials: {
				openAgentsChromaApi: chromaCredential(chroma.url),
				openAgentsLlmApi: offlineLlmCredential(llmUrl, 'sk-kb-nodes-secret'),
			},
		});
	};
	const results = (result: Awaited<ReturnType<typeof query>>) =>
		json(result)[0].results as Array<{
			source: string;
			score: number;
			keywordScore?: number;
			vectorScore?: number;
			rerankScore?: number;
		}>;

	beforeAll(async () => {
		expect((await exec(docs, { ...ingestParams(KB), metadata: '{}' })).status).toBe('success');
	});

	it('Keyword finds the chunk that names the option and reports its BM25 score; Hybrid (the default) fuses both', async () => {
		const keyword = results(await query({ searchMode: 'keyword' }));
		expect(keyword.map((r) => r.source)).toEqual(['timeouts.md']);
		expect(keyword[0].keywordScore).toBeGreaterThan(0);
		const hybrid = results(await query({}));
		expect(hybrid[0].source).toBe('timeouts.md');
		expect(hybrid[0]).toMatchObject({
			keywordScore: expect.any(Number),
			vectorScore: expect.any(Number),
		});
		const vector = results(await query({ searchMode: 'vector' }));
		expect(vector.every((r) => r.keywordScore === undefined)).toBe(true);
	});

	it('reranks with the LLM API: the Rerank Model and the Rerank Candidates go to /rerank, the order follows its scores', async () => {
		model.reset();
		const reranked = results(
			await query({
				query: 'client logs request debug',
				reranker: 'api',
				options: { rerankModel: 'offline-reranker', rerankCandidates: 3 },
			}),
		);
		const [request] = model.requestsTo('rerank');
		expect(request.body).toMatchObject({
			model: 'offline-reranker',
			query: 'client logs request debug',
		});
		expect((request.body as { documents: string[] }).documents).toHaveLength(3);
		expect(reranked[0].source).toBe('logging.md');
		const scores = reranked.map((r) => r.rerankScore!);
		expect(scores).toEqual([...scores].sort((a, b) => b - a));
		const missing = await exec(
			[{}],
			{ operation: 'query', knowledgeBase: KB, query: 'x', reranker: 'api' },
			{ continueOnFail: true },
		);
		expect(json(missing)[0]).toMatchObject({
			code: 'INVALID_OPTIONS',
			error: expect.stringMatching(/set Options → Rerank Model/),
		});
	});

	it('keeps the keyword index in the Memory Store credential\'s Redis with Keyword Index "Shared in Redis": same chunks found, writes update it, deleting the knowledge base deletes it; a Postgres credential is refused', async () => {
		const prefix = `openagents-test-kb-${randomUUID()}`;
		const name = 'kb-shared-index';
		const run = (
			items: object[],
			parameters: INodeParameters,
			memoryStore: ICredentialDataDecryptedObject = redisStoreCredential(prefix),
		) => {
			const workflow = flow(items, { ...parameters, keywordIndex: 'redis' }, true);
			const node = workflow.nodes.find((n) => n.name === 'KB')!;
			node.credentials = {
				...node.credentials,
				openAgentsMemoryStore: { id: '3', name: 'memory' },
			};
			return runWorkflow(workflow, {
				nodeTypes: testNodeTypes,
				credentials: {
					openAgentsChromaApi: chromaCredential(chroma.url),
					openAgentsLlmApi: offlineLlmCredential(llmUrl, 'sk-kb-nodes-secret'),
					openAgentsMemoryStore: memoryStore,
				},
			});
		};
		const search = { operation: 'query', knowledgeBase: name, query: 'socketTimeoutMs', topK: 3 };
		const redis = new Redis(redisFromEnv());
		const keys = () => redis.keys(`${prefix}:keywords:*`);
		try {
			expect((await run(docs, { ...ingestParams(name), metadata: '{}' })).status).toBe('success');
			const shared = results(await run([{}], { ...search, searchMode: 'keyword' }));
			expect(shared.map((r) => r.source)).toEqual(['timeouts.md']);
			expect(shared).toEqual(
				results(await exec([{}], { ...NO_RETRY, ...search, searchMode: 'keyword' })),
			);
			expect((await keys()).filter((key) => /:(rev|stats|num)$/.test(key))).toHaveLength(3);
			// An Ingest with the same setting updates the index as it writes: it is at the collection's revision.
			const more = [
				{ text: '# Pools\n\nSet maxSockets per host.', sourceId: 'pools.md', format: 'markdown' },
			];
			expect((await run(more, { ...ingestParams(name), metadata: '{}' })).status).toBe('success');
			const kb = await new ChromaKnowledgeStore(
				{ url: chroma.url },
				{ policy: new NoRetryPolicy() },
			).open(name);
			const rev = (await keys()).find((key) => key.endsWith(':rev'))!;
			expect(await redis.get(rev)).toBe(await kb.revision());
			const deleted = await run([{}], {
				operation: 'delete',
				knowledgeBase: name,
				deleteBy: 'knowledgeBase',
			});
			expect(json(deleted)[0]).toMatchObject({ knowledgeBaseDeleted: true });
			expect(await keys()).toEqual([]);
		} finally {
			const left = await keys();
			if (left.length) await redis.del(...left);
			redis.disconnect();
		}
		const postgres = await run([{}], search, {
			...redisStoreCredential(prefix),
			backend: 'postgres',
		});
		expect(json(postgres)[0]).toMatchObject({
			code: 'INVALID_OPTIONS',
			error: expect.stringMatching(
				/needs an OpenAgents Memory Store credential with the Redis backend/,
			),
		});
	});

	it('reranks with a connected reranker sub-node, and says so when none is connected', async () => {
		testRerankerCalls.length = 0;
		const reranked = results(
			await query({ reranker: 'subNode', options: { rerankCandidates: 3 } }, true),
		);
		expect(reranked[0].source).toBe('logging.md'); // the sub-node prefers chunks that mention "logs"
		expect(reranked[0].rerankScore).toBe(1);
		expect(testRerankerCalls).toEqual([{ query: 'socketTimeoutMs', documents: 3 }]);
		const unconnected = await query({ reranker: 'subNode' });
		expect(unconnected.status).toBe('error');
		expect(unconnected.error?.message).toMatch(/Reranker sub-node must be connected/);
	});
});

describe('Query, Answer, Stats, Delete', () => {
	beforeAll(async () => {
		const result = await exec(ingestItems, ingestParams('kb-search'));
		expect(result.status).toBe('success');
	});

	it('Query returns ranked chunks with source, position and heading path, filtered by metadata', async () => {
		const result = await exec([{ q: 'How long does the client wait before the first retry?' }], {
			operation: 'query',
			knowledgeBase: 'kb-search',
			query: '={{ $json.q }}',
			topK: 2,
		});
		const [out] = json(result);
		expect(out.results).toHaveLength(2);
		expect(out.results[0]).toMatchObject({
			source: 'guide.md',
			headingPath: 'Retry guide > Backoff',
			metadata: expect.objectContaining({ team: 'platform' }),
		});
		expect(out.results[0].score).toBeGreaterThanOrEqual(out.results[1].score);

		const filtered = await exec([{}], {
			operation: 'query',
			knowledgeBase: 'kb-search',
			query: 'retry wait',
			topK: 5,
			options: { metadataFilter: '{"format": "pdf"}' },
		});
		expect(
			json(filtered)[0].results.map((r: { source: string; page: number }) => [r.source, r.page]),
		).toEqual([
			['manual.pdf', 1],
			['manual.pdf', 2],
		]);
	});

	it('Answer cites the passage that holds the answer and names its source', async () => {
		const result = await exec([{ question: 'Which port does the agent listen on?' }], {
			operation: 'answer',
			knowledgeBase: 'kb-search',
			question: '={{ $json.question }}',
			topK: 3,
		});
		const [out] = json(result);
		expect(out.found).toBe(true);
		expect(out.answer).toMatch(/port 5678[^[]*\[1\]/);
		expect(out.sources).toEqual(['manual.pdf']);
		expect(out.citations[0]).toMatchObject({ source: 'manual.pdf', page: 2 });
		expect(out.usage).toMatchObject({ modelCalls: 1 });
		expect(out.usage.totalTokens).toBeGreaterThan(0);
	});

	it('an unknown knowledge base is a clear per-item error', async () => {
		const result = await exec(
			[{}],
			{ operation: 'query', knowledgeBase: 'kb-nope', query: 'x' },
			{ continueOnFail: true },
		);
		expect(json(result)[0]).toMatchObject({
			code: 'UNKNOWN_KNOWLEDGE_BASE',
			error: expect.stringMatching(/^Item 0: Knowledge base "kb-nope" does not exist/),
		});
		const failed = await exec([{}], { operation: 'stats', knowledgeBase: 'kb-nope' });
		expect(failed.status).toBe('error');
		expect((failed.error as { description?: string }).description).toMatch(/run Ingest first/);
	});

	it('Delete by source and by filter, then Stats counts what is left', async () => {
		const before = json(
			await exec([{}], { operation: 'stats', knowledgeBase: 'kb-search', includeSources: true }),
		)[0];
		const chunksOf = Object.fromEntries(
			before.sourceCounts.map((s: { source: string; chunks: number }) => [s.source, s.chunks]),
		);
		expect(Object.keys(chunksOf)).toEqual(['faq.json', 'guide.md', 'manual.pdf', 'pools.html']);
		const bySource = json(
			await exec([{}], {
				operation: 'delete',
				knowledgeBase: 'kb-search',
				deleteBy: 'source',
				sourceIds: 'pools.html, nothing.md',
			}),
		)[0];
		expect(bySource.deleted).toBe(chunksOf['pools.html']);
		const byFilter = json(
			await exec([{}], {
				operation: 'delete',
				knowledgeBase: 'kb-search',
				deleteBy: 'filter',
				filter: '{"team": "platform"}',
			}),
		)[0];
		expect(byFilter.deleted).toBe(chunksOf['guide.md']);
		const after = json(
			await exec([{}], { operation: 'stats', knowledgeBase: 'kb-search', includeSources: true }),
		)[0];
		const left = chunksOf['faq.json'] + chunksOf['manual.pdf'];
		expect(after).toMatchObject({ chunks: left, sources: 2 });
		expect(after.sourceCounts.map((s: { source: string }) => s.source)).toEqual([
			'faq.json',
			'manual.pdf',
		]);

		const empty = await exec(
			[{}],
			{ operation: 'delete', knowledgeBase: 'kb-search', deleteBy: 'filter', filter: '{}' },
			{ continueOnFail: true },
		);
		expect(json(empty)[0].code).toBe('INVALID_FILTER');
		const dropped = json(
			await exec([{}], {
				operation: 'delete',
				knowledgeBase: 'kb-search',
				deleteBy: 'knowledgeBase',
			}),
		)[0];
		expect(dropped).toMatchObject({ deleted: left, knowledgeBaseDeleted: true });
	});
});
