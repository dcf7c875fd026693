/**
 * The OpenAgents Chat Completions Trigger in real queue-mode n8n (main + 2 workers), driven by the official `openai`
 * npm SDK — a client nobody here wrote. The Agent runs on a worker; its answer reaches the SDK through n8n's streaming
 * response. Token usage is checked against what the Agent recorded on the execution (n8n's API), the conversation
 * against the model server's request log.
 */
import { randomUUID } from 'node:crypto';

import OpenAI, {
	APIUserAbortError,
	AuthenticationError,
	BadRequestError,
	NotFoundError,
} from 'openai';

import { OfflineModelServer, type ChatRequest } from '../../stack/model-server';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { agentNode, chatCompletionsTriggerNode } from '../../stack/n8n/workflow-nodes';
import { sleep, waitFor } from '../../stack/process';
import { offlineLlmCredential } from '../support/credentials';

const { client } = clusterFromEnv();
const model = new OfflineModelServer();
const KEY = `sk-e2e-${randomUUID()}`;
const MODELS = ['n8n-agent', 'n8n-agent-mini'];
let workflowId: string;
let keyCredentialId: string;
let openai: OpenAI;
let baseURL: string;

/** The model's answer: names the last user message, several words so that it streams in several chunks. */
const replyTo = (request: ChatRequest) => {
	const users = request.messages.filter((m) => m.role === 'user');
	return {
		content: `You said "${String(users.at(-1)?.content)}" after ${users.length - 1} earlier messages.`,
	};
};

beforeAll(async () => {
	await model.start();
	const llm = await client.createCredential(
		'e2e chat completions model',
		'openAgentsLlmApi',
		offlineLlmCredential(model.baseUrl),
	);
	const key = await client.createCredential(
		'e2e chat completions key',
		'openAgentsChatCompletionsApi',
		{
			apiKey: KEY,
		},
	);
	keyCredentialId = key.id;
	const api = await client.createCredential('e2e chat completions n8n API', 'openAgentsN8nApi', {
		baseUrl: `${client.url}/api/v1`,
		apiKey: client.connection.apiKey,
	});
	const path = `e2e-chat-completions-${randomUUID()}`;
	({ id: workflowId } = await client.createWorkflow({
		name: 'e2e: Chat Completions Trigger → Agent',
		nodes: [
			chatCompletionsTriggerNode(path, MODELS.join(', '), {
				openAgentsChatCompletionsApi: key,
				openAgentsN8nApi: api,
			}),
			agentNode(
				{ template: 'conversation', systemMessage: 'You are the e2e agent.' },
				{ openAgentsLlmApi: llm },
			),
		],
		connections: { 'Chat Completions': { main: [[{ node: 'Agent', type: 'main', index: 0 }]] } },
	}));
	await client.activateWorkflow(workflowId, [`${path}/v1/chat/completions`]);
	baseURL = `${client.url}/webhook/${path}/v1`;
	openai = new OpenAI({ baseURL, apiKey: KEY, maxRetries: 0 });
}, 120_000);

afterAll(() => model.stop());

beforeEach(() => {
	model.reset();
	model.setHandler(replyTo);
});

/** Executions of the workflow started at or after `since` (ms since the epoch). */
const executionsSince = async (since: number) =>
	(await client.executions({ workflowId, limit: 250 })).filter(
		(e) => Date.parse(e.startedAt) >= since,
	);

/**
 * The execution that answered `completionId`: the trigger's output item and the usage the Agent recorded on the
 * execution (custom data).
 */
async function answeringExecution(completionId: string) {
	// The client has its answer as soon as the Agent finishes; n8n saves the execution a moment later.
	return waitFor(
		`the finished execution that answered ${completionId}`,
		async () => {
			for (const summary of await client.executions({ workflowId, limit: 20 })) {
				if (summary.status !== 'success') continue;
				const execution = await client.execution(summary.id, true);
				const trigger = execution.data?.resultData.runData['Chat Completions'];
				const item = trigger?.[0]?.data?.main[0]?.[0];
				if (item?.json.completionId !== completionId) continue;
				const data = execution.customData as Record<string, string>;
				return {
					item: item.json,
					usage: {
						prompt_tokens: Number(data.openagents_prompt_tokens),
						completion_tokens: Number(data.openagents_completion_tokens),
						total_tokens: Number(data.openagents_total_tokens),
					},
				};
			}
			return undefined;
		},
		10_000,
		250,
	);
}

describe('Chat Completions Trigger with the openai SDK', () => {
	it('lists the Model Names', async () => {
		const models = await openai.models.list();
		expect(models.data.map((m) => m.id)).toEqual(MODELS);
		expect(models.data.every((m) => m.object === 'model')).toBe(true);
	});

	it('answers a completion with the model’s text, the recorded token usage, an id and the model asked for', async () => {
		const completion = await openai.chat.completions.create(
			{
				model: 'n8n-agent-mini',
				messages: [{ role: 'user', content: 'What is queue mode?' }],
				temperature: 0.3,
				user: 'user-7',
				metadata: { team: 'ops' },
			},
			{ headers: { 'X-Session-Id': 'session-7' } },
		);
		expect(completion.object).toBe('chat.completion');
		expect(completion.id).toMatch(/^chatcmpl-\w{20,}$/);
		expect(completion.model).toBe('n8n-agent-mini');
		expect(completion.choices).toHaveLength(1);
		expect(completion.choices[0].finish_reason).toBe('stop');
		expect(completion.choices[0].message).toMatchObject({
			role: 'assistant',
			content: 'You said "What is queue mode?" after 0 earlier messages.',
		});
		expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
		const { usage, item } = await answeringExecution(completion.id);
		expect(completion.usage).toEqual(usage);
		// The trigger's item is the request, for other nodes to map.
		expect(item).toMatchObject({
			model: 'n8n-agent-mini',
			temperature: 0.3,
			user: 'user-7',
			metadata: { team: 'ops' },
			stream: false,
			chatInput: 'What is queue mode?',
			sessionId: 'session-7',
		});
	});

	it('streams the same answer in chunks with one id, a finish reason and a usage chunk', async () => {
		const ask = { model: 'n8n-agent', messages: [{ role: 'user' as const, content: 'Stream it' }] };
		const whole = await openai.chat.completions.create(ask);
		const stream = await openai.chat.completions.create({
			...ask,
			stream: true,
			stream_options: { include_usage: true },
		});
		const chunks = [];
		for await (const chunk of stream) chunks.push(chunk);
		const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
		expect(text).toBe(whole.choices[0].message.content);
		expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(3);
		expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
		expect(chunks[0].id).not.toBe(whole.id);
		expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
		expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
		expect(chunks.at(-1)!.choices).toEqual([]);
		expect(chunks.at(-1)!.usage).toEqual(whole.usage);

		// Without include_usage there is no usage chunk.
		const plain = await openai.chat.completions.create({ ...ask, stream: true });
		const plainChunks = [];
		for await (const chunk of plain) plainChunks.push(chunk);
		expect(plainChunks.some((c) => c.usage)).toBe(false);
		expect(plainChunks.at(-1)!.choices[0].finish_reason).toBe('stop');
	});

	it('gives the model the whole conversation in order, after the node’s system message', async () => {
		const completion = await openai.chat.completions.create({
			model: 'n8n-agent',
			messages: [
				{ role: 'system', content: 'Answer in one line.' },
				{ role: 'user', content: 'first question' },
				{ role: 'assistant', content: 'first answer' },
				{
					role: 'user',
					content: [
						{ type: 'text', text: 'second ' },
						{ type: 'text', text: 'question' },
					],
				},
			],
		});
		expect(completion.choices[0].message.content).toBe(
			'You said "second question" after 1 earlier messages.',
		);
		const sent = model.requestsTo('chat').at(-1)!.body as ChatRequest;
		expect(sent.messages.map((m) => [m.role, m.content])).toEqual([
			['system', 'You are the e2e agent.'],
			['system', 'Answer in one line.'],
			['user', 'first question'],
			['assistant', 'first answer'],
			['user', 'second question'],
		]);
	});

	it('answers JSON matching response_format’s schema', async () => {
		model.setHandler(() => ({ content: '{"city":"Paris","population":2100000}' }));
		const completion = await openai.chat.completions.create({
			model: 'n8n-agent',
			messages: [{ role: 'user', content: 'Biggest city of France?' }],
			response_format: {
				type: 'json_schema',
				json_schema: {
					name: 'city',
					schema: {
						type: 'object',
						properties: { city: { type: 'string' }, population: { type: 'number' } },
						required: ['city', 'population'],
					},
				},
			},
		});
		expect(JSON.parse(completion.choices[0].message.content!)).toEqual({
			city: 'Paris',
			population: 2100000,
		});
		// The schema reached the model with the instructions.
		const sent = model.requestsTo('chat').at(-1)!.body as ChatRequest;
		expect(String(sent.messages[0].content)).toContain('"population"');
	});

	it('refuses a wrong key, a malformed request and an unknown model before any execution starts', async () => {
		const since = Date.now();
		const wrongKey = new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
		await expect(
			wrongKey.chat.completions.create({
				model: 'n8n-agent',
				messages: [{ role: 'user', content: 'hi' }],
			}),
		).rejects.toBeInstanceOf(AuthenticationError);
		await expect(wrongKey.models.list()).rejects.toBeInstanceOf(AuthenticationError);
		const malformed = await openai.chat.completions
			.create({ model: 'n8n-agent', messages: [{ role: 'user' } as never] })
			.catch((error: unknown) => error);
		expect(malformed).toBeInstanceOf(BadRequestError);
		expect((malformed as BadRequestError).param).toBe('messages[0].content');
		await expect(
			openai.chat.completions.create({
				model: 'gpt-4o',
				messages: [{ role: 'user', content: 'hi' }],
			}),
		).rejects.toBeInstanceOf(NotFoundError);
		expect(model.requestsTo('chat')).toHaveLength(0);
		expect(await executionsSince(since)).toEqual([]);
	});

	it('applies an edited key within 5 seconds', async () => {
		const newKey = `sk-e2e-rotated-${randomUUID()}`;
		await client.api('PATCH', `/credentials/${keyCredentialId}`, { data: { apiKey: newKey } });
		try {
			await sleep(5_500);
			await expect(openai.models.list()).rejects.toBeInstanceOf(AuthenticationError);
			const rotated = new OpenAI({ baseURL, apiKey: newKey, maxRetries: 0 });
			expect((await rotated.models.list()).data.map((m) => m.id)).toEqual(MODELS);
		} finally {
			await client.api('PATCH', `/credentials/${keyCredentialId}`, { data: { apiKey: KEY } });
			await sleep(5_500);
		}
	}, 30_000);

	it('stops the execution and aborts the model request when the client aborts mid-stream', async () => {
		model.latencyMs = 8_000;
		const controller = new AbortController();
		const stream = await openai.chat.completions.create(
			{ model: 'n8n-agent', stream: true, messages: [{ role: 'user', content: 'Take your time' }] },
			{ signal: controller.signal },
		);
		const received: string[] = [];
		const reading = (async () => {
			for await (const chunk of stream) {
				received.push(chunk.choices[0]?.delta.role ?? '');
				controller.abort(); // after the first event: the Agent has started, its model request is in flight
			}
		})();
		// The SDK ends the iteration (v6) or throws APIUserAbortError: either way the client is gone.
		await reading.catch((error: unknown) => expect(error).toBeInstanceOf(APIUserAbortError));
		expect(received).toEqual(['assistant']);
		const started = Date.now();
		// n8n cancels the execution on the worker; the Agent's model request is aborted with it.
		await waitFor(
			'the model request aborted',
			() => model.requestsTo('chat')[0]?.abandoned || undefined,
			6_000,
			100,
		);
		expect(Date.now() - started).toBeLessThan(6_000);
		const [latest] = await client.executions({ workflowId, limit: 1 });
		await waitFor(
			'the execution canceled',
			async () => (await client.execution(latest.id, false)).status === 'canceled' || undefined,
			10_000,
			250,
		);
	}, 60_000);

	it('serves 50 concurrent streaming clients, each stream complete and only its own', async () => {
		model.latencyMs = 200;
		const clients = Array.from({ length: 50 }, (_, i) => `client ${i} asks`);
		const results = await Promise.all(
			clients.map(async (question) => {
				const stream = await openai.chat.completions.create({
					model: 'n8n-agent',
					stream: true,
					stream_options: { include_usage: true },
					messages: [{ role: 'user', content: question }],
				});
				const chunks = [];
				for await (const chunk of stream) chunks.push(chunk);
				return chunks;
			}),
		);
		results.forEach((chunks, i) => {
			const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
			expect(text).toBe(`You said "${clients[i]}" after 0 earlier messages.`);
			expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
			expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
			expect(chunks.at(-1)!.usage!.total_tokens).toBeGreaterThan(0);
		});
		expect(new Set(results.map((chunks) => chunks[0].id)).size).toBe(50);
	}, 180_000);
});

describe('Chat Completions Trigger 1.1: sessions per client key, limits, error bodies', () => {
	const KEY_A = `sk-e2e-a-${randomUUID()}`;
	const KEY_B = `sk-e2e-b-${randomUUID()}`;
	const prefix = `openagents-e2e-cc-sessions-${randomUUID().slice(0, 8)}`;
	let sessionsURL: string;

	beforeAll(async () => {
		const llm = await client.createCredential(
			'e2e sessions model',
			'openAgentsLlmApi',
			offlineLlmCredential(model.baseUrl),
		);
		const keys = await client.createCredential(
			'e2e sessions keys',
			'openAgentsChatCompletionsApi',
			{
				apiKey: `${KEY_A},${KEY_B}`,
			},
		);
		const store = await client.createCredential('e2e sessions memory', 'openAgentsMemoryStore', {
			backend: 'redis',
			host: '127.0.0.1',
			redisPort: 6379,
			redisDatabase: 0,
			prefix,
		});
		const path = `e2e-cc-sessions-${randomUUID()}`;
		const { id } = await client.createWorkflow({
			name: 'e2e: Chat Completions Trigger 1.1 → Agent with Chat Memory',
			nodes: [
				chatCompletionsTriggerNode(
					path,
					'n8n-agent',
					{ openAgentsChatCompletionsApi: keys },
					{ typeVersion: 1.1, parameters: { options: { maxMessageChars: 5000 } } },
				),
				agentNode({ template: 'conversation' }, { openAgentsLlmApi: llm }),
				{
					id: randomUUID(),
					name: 'Chat Memory',
					type: 'n8n-nodes-openagents.openAgentsMemoryChat',
					typeVersion: 1,
					position: [360, 200],
					parameters: { store: 'credential', scope: 'session', scopeId: '={{ $json.sessionId }}' },
					credentials: { openAgentsMemoryStore: { id: store.id, name: store.name } },
				},
			],
			connections: {
				'Chat Completions': { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
				'Chat Memory': { ai_memory: [[{ node: 'Agent', type: 'ai_memory', index: 0 }]] },
			},
		});
		await client.activateWorkflow(id, [`${path}/v1/chat/completions`]);
		sessionsURL = `${client.url}/webhook/${path}/v1`;
	}, 120_000);

	afterAll(async () => {
		const { deleteKeys, redisFromEnv } = await import('../../stack/services');
		await deleteKeys(redisFromEnv(), `${prefix}:*`);
	});

	const ask = (apiKey: string, content: string, user: string) =>
		new OpenAI({ baseURL: sessionsURL, apiKey, maxRetries: 0 }).chat.completions.create({
			model: 'n8n-agent',
			user,
			messages: [{ role: 'user', content }],
		});
	/** The user messages the model received in its latest request. */
	const lastUserMessages = () =>
		(model.requestsTo('chat').at(-1)!.body as ChatRequest).messages
			.filter((m) => m.role === 'user')
			.map((m) => String(m.content));

	it('a client with another key cannot continue a session by naming it', async () => {
		await ask(KEY_A, 'My bank PIN is 4921.', 'alice');
		await ask(KEY_A, 'What did I tell you?', 'alice');
		expect(lastUserMessages()).toEqual(['My bank PIN is 4921.', 'What did I tell you?']);
		await ask(KEY_B, 'What is my PIN?', 'alice');
		expect(lastUserMessages()).toEqual(['What is my PIN?']);
	});

	it('refuses a request over its limits in OpenAI’s shape, and no error body shows a stack', async () => {
		const since = Date.now();
		const tooLong = await ask(KEY_A, 'x'.repeat(5001), 'bob').catch((error: unknown) => error);
		expect(tooLong).toBeInstanceOf(BadRequestError);
		expect((tooLong as BadRequestError).code).toBe('context_length_exceeded');
		const huge = await ask(KEY_A, 'y'.repeat(1_100_000), 'bob').catch((error: unknown) => error);
		expect((huge as { status?: number }).status).toBe(413);
		expect(model.requestsTo('chat').filter((r) => r.receivedAt >= since)).toHaveLength(0);
		// Malformed JSON is refused by n8n's body parser before the node; n8n runs with NODE_ENV=production.
		const malformed = await fetch(`${sessionsURL}/chat/completions`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_A}` },
			body: '{"model": "n8n-agent", "messages": [',
		});
		expect(malformed.status).toBeGreaterThanOrEqual(400);
		expect(malformed.status).toBeLessThan(500);
		const text = await malformed.text();
		expect(text).not.toMatch(/\bat \S+ \(|node_modules|\/dist\//);
	});
});
