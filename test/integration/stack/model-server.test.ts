import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { z } from 'zod';

import { cosine, OfflineModelServer, parsePassages, planFor } from '../../../stack/model-server';

const server = new OfflineModelServer({ apiKey: 'sk-test-secret-123' });
let baseURL: string;

beforeAll(async () => {
	baseURL = await server.start();
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

const chat = (extra: Record<string, unknown> = {}) =>
	new ChatOpenAI({
		model: 'offline-chat',
		apiKey: 'sk-test-secret-123',
		configuration: { baseURL },
		maxRetries: 0,
		...extra,
	});

const post = (path: string, body: unknown, key = 'sk-test-secret-123') =>
	fetch(`${baseURL}${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
		body: JSON.stringify(body),
	});

// Wire-format assertions read arbitrary JSON bodies.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

const searchTool = tool(async ({ query }) => query, {
	name: 'search_knowledge_base',
	description: 'Search the knowledge base',
	schema: z.object({ query: z.string() }),
});

describe('models and auth', () => {
	it('lists the chat and embedding models', async () => {
		const res = await fetch(`${baseURL}/models`, {
			headers: { authorization: 'Bearer sk-test-secret-123' },
		});
		const body = await json(res);
		expect(res.status).toBe(200);
		expect(body.data.map((m: { id: string }) => m.id)).toEqual([
			'offline-chat',
			'offline-embedding',
		]);
	});

	it('rejects a wrong key with 401 and never echoes a key', async () => {
		const res = await post(
			'/chat/completions',
			{ model: 'x', messages: [{ role: 'user', content: 'hi' }] },
			'sk-wrong-key',
		);
		const text = await res.text();
		expect(res.status).toBe(401);
		expect(text).not.toContain('sk-wrong-key');
		expect(text).not.toContain('sk-test-secret-123');
		expect(JSON.stringify(server.requests)).not.toContain('sk-');
	});
});

it('keeps only the latest keptRequests requests in its log, numbered on', async () => {
	const short = new OfflineModelServer({ keptRequests: 2 });
	const url = await short.start();
	try {
		for (const content of ['one', 'two', 'three'])
			await fetch(`${url}/chat/completions`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ model: 'offline-chat', messages: [{ role: 'user', content }] }),
			});
		expect(short.requests.map((r) => r.seq)).toEqual([2, 3]);
		expect(JSON.stringify(short.requests)).not.toContain('"one"');
	} finally {
		await short.stop();
	}
});

describe('chat completions', () => {
	it('answers plain text as the stand-in model, with token usage', async () => {
		const reply = await chat().invoke('Summarise the release notes.');
		expect(reply.content).toBe('[offline stand-in model] Done: Summarise the release notes.');
		expect(reply.usage_metadata?.input_tokens).toBeGreaterThan(0);
		expect(reply.usage_metadata?.total_tokens).toBe(
			(reply.usage_metadata?.input_tokens ?? 0) + (reply.usage_metadata?.output_tokens ?? 0),
		);
	});

	it('calls an offered retrieval tool with the question, then answers from its result with citations', async () => {
		const model = chat().bindTools([searchTool]);
		const question = 'How do I configure the Redis connection timeout?';
		const first = (await model.invoke([new HumanMessage(question)])) as AIMessage;
		expect(first.tool_calls).toHaveLength(1);
		expect(first.tool_calls?.[0]).toMatchObject({
			name: 'search_knowledge_base',
			args: { query: question },
		});

		const result = JSON.stringify([
			{ text: 'Bananas are rich in potassium.', source: 'fruit.md' },
			{
				text: 'Set connectTimeout to configure the Redis connection timeout in milliseconds.',
				source: 'ioredis/README.md',
			},
		]);
		const second = await model.invoke([
			new HumanMessage(question),
			first,
			new ToolMessage({ content: result, tool_call_id: first.tool_calls![0].id! }),
		]);
		expect(second.content).toContain('connectTimeout');
		expect(second.content).toContain('[2]');
		expect(second.content).toContain('[2] ioredis/README.md');
		expect(second.content).not.toContain('fruit.md');
	});

	it('says so when the tool result does not contain the answer', async () => {
		const first = (await chat()
			.bindTools([searchTool])
			.invoke('What is the capital of Peru?')) as AIMessage;
		const second = await chat().invoke([
			new HumanMessage('What is the capital of Peru?'),
			first,
			new ToolMessage({ content: '[]', tool_call_id: first.tool_calls![0].id! }),
		]);
		expect(second.content).toBe(
			'The provided context does not contain the answer to this question.',
		);
	});

	it('returns a valid plan for a structured planning request', async () => {
		const Plan = z.object({
			goal: z.string(),
			tasks: z
				.array(
					z.object({
						id: z.string(),
						title: z.string(),
						description: z.string(),
						agent: z.string(),
						dependsOn: z.array(z.string()),
					}),
				)
				.min(1),
		});
		const plan = await chat()
			.withStructuredOutput(Plan, { method: 'jsonSchema' })
			.invoke('Goal: compare vector databases');
		expect(plan.goal).toBe('compare vector databases');
		const ids = new Set(plan.tasks.map((t) => t.id));
		for (const t of plan.tasks) for (const d of t.dependsOn) expect(ids.has(d)).toBe(true);
		expect(plan.tasks.filter((t) => t.dependsOn.length === 0).length).toBeGreaterThanOrEqual(1);
	});

	it('derives the plan from the goal: one research task per aspect, then an answer that builds on them', () => {
		const two = planFor('How does ioredis reconnect, and what does maxRetriesPerRequest do?');
		const roots = two.tasks.filter((t) => !t.dependsOn.length);
		expect(roots.map((t) => t.title)).toEqual([
			'Research: How does ioredis reconnect',
			'Research: what does maxRetriesPerRequest do',
		]);
		expect(two.tasks.at(-1)!.dependsOn).toEqual(roots.map((t) => t.id));
		const one = planFor('Explain the pg connection pool');
		expect(one.tasks).toHaveLength(2);
		expect(JSON.stringify(one.tasks)).not.toEqual(JSON.stringify(two.tasks));
		expect(
			planFor('Compare Redis with Postgres', ['scout', 'author']).tasks.map((t) => t.agent),
		).toEqual(['scout', 'author']);
	});

	it('fills a forced function call (tool_choice) with schema-valid arguments', async () => {
		const Answer = z.object({ answer: z.string(), confidence: z.number() });
		const out = await chat()
			.withStructuredOutput(Answer, { method: 'functionCalling' })
			.invoke('Is the sky blue?');
		expect(Answer.safeParse(out).success).toBe(true);
	});

	it('serves queued replies first in first out, then falls back to the handler', async () => {
		server.reply({ content: 'one' }, { content: 'two' }).setHandler(() => ({ content: 'handled' }));
		const answers = [];
		for (let i = 0; i < 3; i++) answers.push((await chat().invoke('x')).content);
		expect(answers).toEqual(['one', 'two', 'handled']);
		expect(server.requestsTo('chat')).toHaveLength(3);
	});

	it('passes malformed tool-call arguments through untouched', async () => {
		server.reply({
			toolCalls: [{ name: 'search_knowledge_base', arguments: '{"query": "unterminated' }],
		});
		const res = await post('/chat/completions', {
			model: 'm',
			messages: [{ role: 'user', content: 'x' }],
		});
		const body = await json(res);
		expect(body.choices[0].message.tool_calls[0].function.arguments).toBe(
			'{"query": "unterminated',
		);
		expect(body.choices[0].finish_reason).toBe('tool_calls');
	});

	it('rejects a request without messages with 400', async () => {
		const res = await post('/chat/completions', { model: 'm', messages: [] });
		expect(res.status).toBe(400);
		expect((await json(res)).error.param).toBe('messages');
	});
});

describe('streaming', () => {
	it('streams the same text as the non-streamed answer, then a usage chunk', async () => {
		const plain = await chat().invoke('Stream this sentence please.');
		let text = '';
		let usage;
		let chunks = 0;
		for await (const chunk of await chat({ streaming: true, streamUsage: true }).stream(
			'Stream this sentence please.',
		)) {
			text += chunk.content;
			chunks++;
			if (chunk.usage_metadata) usage = chunk.usage_metadata;
		}
		expect(text).toBe(plain.content);
		expect(chunks).toBeGreaterThan(3);
		expect(usage).toEqual(plain.usage_metadata);
		expect(server.requests[1].stream).toBe(true);
	});

	it('streams tool calls as deltas that reassemble into the arguments', async () => {
		let merged: AIMessage | undefined;
		for await (const chunk of await chat({ streaming: true })
			.bindTools([searchTool])
			.stream('Where is the retry policy documented?')) {
			merged = merged
				? (merged as never as { concat(c: unknown): AIMessage }).concat(chunk)
				: chunk;
		}
		expect(merged?.tool_calls?.[0]).toMatchObject({
			name: 'search_knowledge_base',
			args: { query: 'Where is the retry policy documented?' },
		});
	});

	it('ends the raw SSE stream with [DONE]', async () => {
		const res = await post('/chat/completions', {
			model: 'm',
			stream: true,
			messages: [{ role: 'user', content: 'hi' }],
		});
		const text = await res.text();
		expect(res.headers.get('content-type')).toBe('text/event-stream');
		expect(text.trim().endsWith('data: [DONE]')).toBe(true);
	});
});

describe('embeddings', () => {
	const embeddings = () =>
		new OpenAIEmbeddings({
			model: 'offline-embedding',
			apiKey: 'sk-test-secret-123',
			configuration: { baseURL },
			maxRetries: 0,
		});

	it('returns unit-length vectors of the configured dimension, deterministically', async () => {
		const [a, b] = await embeddings().embedDocuments([
			'Redis is an in-memory store',
			'Redis is an in-memory store',
		]);
		expect(a).toHaveLength(256);
		expect(Math.hypot(...a)).toBeCloseTo(1, 5);
		expect(a).toEqual(b);
	});

	it('ranks texts that share words with the query above unrelated texts', async () => {
		const docs = [
			'Bake the bread at 220 degrees until golden.',
			'Set the Redis connection timeout with connectTimeout.',
			'The Redis client reconnects after a connection error.',
			'Paint the fence before it rains.',
		];
		const [query] = await embeddings().embedDocuments(['redis connection timeout']);
		const vectors = await embeddings().embedDocuments(docs);
		const ranked = docs
			.map((d, i) => ({ d, s: cosine(query, vectors[i]) }))
			.sort((x, y) => y.s - x.s)
			.map((r) => r.d);
		expect(ranked.slice(0, 2)).toEqual([docs[1], docs[2]]);
	});

	it('honours dimensions and float encoding on the wire', async () => {
		const res = await post('/embeddings', {
			model: 'e',
			input: ['a b c'],
			dimensions: 64,
			encoding_format: 'float',
		});
		const body = await json(res);
		expect(body.data[0].embedding).toHaveLength(64);
		expect(body.usage.total_tokens).toBeGreaterThan(0);
	});

	it('rejects empty input with 400', async () => {
		const res = await post('/embeddings', { model: 'e', input: ['ok', ''] });
		expect(res.status).toBe(400);
	});

	it('serves a semantic model as offline-semantic-embedding: it finds a paraphrase that shares no word with the query', async () => {
		const query = 'my car will not start in the morning';
		const docs = [
			'The bakery sells fresh bread and cakes.',
			'The vehicle engine fails to turn over when it is cold.',
		];
		const embed = async (model: string) => {
			const res = await post('/embeddings', { model, input: [query, ...docs] });
			const body = await json(res);
			return body.data.map((d: { embedding: number[] }) => d.embedding) as number[][];
		};
		const [q, unrelated, paraphrase] = await embed('offline-semantic-embedding');
		expect(q).toHaveLength(512);
		expect(Math.hypot(...q)).toBeCloseTo(1, 5);
		expect(cosine(q, paraphrase) - cosine(q, unrelated)).toBeGreaterThan(0.2);
		// The word-hashing stand-in sees no shared word: both documents are equally unrelated to it.
		const [hq, hUnrelated, hParaphrase] = await embed('offline-embedding');
		expect(hq).toHaveLength(256);
		expect(Math.abs(cosine(hq, hParaphrase) - cosine(hq, hUnrelated))).toBeLessThan(0.2);
	}, 30_000);
});

describe('fault injection', () => {
	const ask = () =>
		post('/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });

	it('answers 429 with Retry-After the given number of times, then normally', async () => {
		server.fail({ type: 'status', status: 429, retryAfter: 1 }, { times: 2 });
		const statuses = [];
		for (let i = 0; i < 3; i++) {
			const res = await ask();
			statuses.push([res.status, res.headers.get('retry-after')]);
			await res.text();
		}
		expect(statuses).toEqual([
			[429, '1'],
			[429, '1'],
			[200, null],
		]);
		expect(server.requests.map((r) => r.fault)).toEqual(['status', 'status', undefined]);
	});

	it.each([500, 503])('answers %i with an OpenAI-style error body', async (status) => {
		server.fail({ type: 'status', status });
		const res = await ask();
		expect(res.status).toBe(status);
		expect((await json(res)).error.type).toBe('server_error');
	});

	it('delays the answer by the given milliseconds', async () => {
		server.fail({ type: 'delay', ms: 300 });
		const started = Date.now();
		const res = await ask();
		expect(res.status).toBe(200);
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
	});

	it('drops the connection', async () => {
		server.fail({ type: 'drop' });
		await expect(ask()).rejects.toThrow();
		expect(server.requests[0].status).toBe('dropped');
	});

	it('sends malformed JSON', async () => {
		server.fail({ type: 'malformed' });
		const res = await ask();
		await expect(res.json()).rejects.toThrow(/JSON/);
	});

	it('truncates a stream before [DONE]', async () => {
		server.fail({ type: 'truncate' });
		const res = await post('/chat/completions', {
			model: 'm',
			stream: true,
			messages: [{ role: 'user', content: 'hi' }],
		});
		const text = await res.text().catch((e: Error) => `error: ${e.message}`);
		expect(text).not.toContain('[DONE]');
	});

	it('truncates a plain response body', async () => {
		server.fail({ type: 'truncate' });
		await expect(ask().then((r) => r.json())).rejects.toThrow();
	});

	it('limits a fault to its route', async () => {
		server.fail({ type: 'status', status: 500 }, { route: 'embeddings' });
		expect((await ask()).status).toBe(200);
		expect((await post('/embeddings', { model: 'e', input: 'x' })).status).toBe(500);
	});

	it('makes LangChain fail on an injected 400 without retrying', async () => {
		server.fail({ type: 'status', status: 400, message: 'bad request' });
		await expect(chat().invoke('x')).rejects.toThrow(/400/);
		expect(server.requestsTo('chat')).toHaveLength(1);
	});
});

describe('tool results the stand-in reads', () => {
	it("reads passages from JSON results, from n8n 2.x's [{ response }] envelope, and from [n] blocks", () => {
		const results = JSON.stringify({
			results: [
				{ n: 1, source: 'a.md', text: 'Alpha text.' },
				{ n: 2, source: 'b.md', text: 'Beta text.' },
			],
		});
		const expected = [
			{ source: 'a.md', text: 'Alpha text.' },
			{ source: 'b.md', text: 'Beta text.' },
		];
		expect(parsePassages(results)).toEqual(expected);
		expect(parsePassages(JSON.stringify([{ response: results }]))).toEqual(expected);
		expect(parsePassages('[1] (source: a.md) Alpha text.\n[2] (source: b.md) Beta text.')).toEqual(
			expected,
		);
		expect(parsePassages(JSON.stringify([{ unrelated: true }]))).toEqual([]);
	});
});
