/**
 * How the provider of a credential is found (its Provider setting, else the host or port of its base URL) and what a
 * credential saved before the setting existed does: detected from its URL, and against a server we do not know,
 * exactly what it did before (no response_format, the SDK's base64 embeddings). Also the pieces the profiles lean on:
 * reasoning split across stream pieces, the waits providers name in their 429s, and floats answered to a base64
 * request (LM Studio) decoded right even when the provider is unknown.
 */
import { HumanMessage } from '@langchain/core/messages';
import { DynamicStructuredTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';

import {
	createEmbeddings,
	invokeChatModel,
	invokeStructured,
	messageText,
	runAgent,
} from '../../lib/llm';
import { createChatModel } from '../../lib/llm/models';
import {
	forgetRefusedParameters,
	providerFetch,
	refusedParameters,
} from '../../lib/llm/provider-fetch';
import { probeProvider } from '../../lib/llm/probe';
import { detectProvider, resolveProvider } from '../../lib/llm/providers';
import { ReasoningSplitter, splitReasoning } from '../../lib/llm/reasoning';
import {
	FixedDelayRetryPolicy,
	NoRetryPolicy,
	rateLimitResetMs,
	retryAfterMs,
} from '../../lib/retry';
import { llmConfigFromData } from '../../nodes/shared/clients/llmApi';
import { OfflineModelServer, type ChatRequest } from '../../stack/model-server';
import { z } from 'zod';

describe('Auto-Detect', () => {
	it.each([
		['https://api.openai.com/v1', 'openai'],
		['https://my-res.openai.azure.com/openai/v1', 'azure'],
		['https://my-res.cognitiveservices.azure.com/openai', 'azure'],
		['http://localhost:11434/v1', 'ollama'],
		['http://gpu-box:11434/v1', 'ollama'],
		['http://127.0.0.1:1234/v1', 'lmstudio'],
		['https://openrouter.ai/api/v1', 'openrouter'],
		['https://api.groq.com/openai/v1', 'groq'],
		['https://api.deepseek.com/v1', 'deepseek'],
		['https://generativelanguage.googleapis.com/v1beta/openai', 'gemini'],
		['https://api.mistral.ai/v1', 'mistral'],
		['http://gpu-box:8000/v1', 'generic'],
		['not a url', 'generic'],
	])('%s → %s', (baseUrl, id) => {
		expect(detectProvider(baseUrl).id).toBe(id);
	});

	it('the Provider setting wins over the URL; a credential saved before the setting is Auto-Detect', () => {
		expect(resolveProvider({ baseUrl: 'http://gpu-box:8000/v1', provider: 'vllm' }).id).toBe(
			'vllm',
		);
		expect(
			resolveProvider({ baseUrl: 'https://api.groq.com/openai/v1', provider: 'auto' }).id,
		).toBe('groq');
		const legacy = llmConfigFromData({
			baseUrl: 'https://api.mistral.ai/v1/',
			apiKey: 'k',
			chatModel: 'm',
			embeddingModel: 'e',
		});
		expect(legacy).toMatchObject({ baseUrl: 'https://api.mistral.ai/v1', provider: 'auto' });
		expect(legacy.apiVersion).toBeUndefined();
		expect(resolveProvider(legacy).id).toBe('mistral');
	});
});

describe('a credential without Provider against a server we do not know', () => {
	const server = new OfflineModelServer();
	beforeAll(() => server.start());
	afterAll(() => server.stop());

	it('asks for structured output in the prompt only and embeddings as the SDK does, as before', async () => {
		const config = llmConfigFromData({
			baseUrl: server.baseUrl,
			apiKey: '',
			chatModel: server.chatModel,
			embeddingModel: server.embeddingModel,
		});
		const { value } = await invokeStructured(
			createChatModel(config),
			[new HumanMessage('Give me the answer')],
			z.object({ answer: z.string() }),
			{ policy: new NoRetryPolicy() },
		);
		expect(typeof value.answer).toBe('string');
		const [request] = server.requestsTo('chat').map((r) => r.body as ChatRequest);
		expect(request.response_format).toBeUndefined();
		await createEmbeddings(config).embedDocuments(['one text']);
		expect(server.requestsTo('embeddings')[0].body).toMatchObject({ encoding_format: 'base64' });
	});
});

describe('LM Studio answering floats to a base64 request', () => {
	const server = new OfflineModelServer({ profile: 'lmstudio' });
	beforeAll(() => server.start());
	afterAll(() => server.stop());

	it('decodes to whole vectors whether the provider is known (floats asked) or not (floats re-encoded)', async () => {
		for (const provider of ['lmstudio', 'generic'] as const) {
			const vectors = await createEmbeddings({
				baseUrl: server.baseUrl,
				apiKey: '',
				chatModel: '',
				embeddingModel: 'text-embedding-qwen3-embedding-0.6b',
				provider,
			}).embedDocuments(['first text', 'second text']);
			expect(vectors.map((v) => v.length)).toEqual([256, 256]);
		}
		expect(
			server
				.requestsTo('embeddings')
				.map((r) => (r.body as { encoding_format?: string }).encoding_format),
		).toEqual(['float', 'base64']);
	});
});

describe('reasoning kept apart from the answer', () => {
	it('splits a leading <think> block, or the text before a closing tag without an opening one', () => {
		expect(splitReasoning('<think>\nplan {"a":1}\n</think>\n\nThe answer.')).toEqual({
			reasoning: 'plan {"a":1}',
			text: 'The answer.',
		});
		expect(splitReasoning('I should check [9].\n</think>\n\nThe answer.')).toEqual({
			reasoning: 'I should check [9].',
			text: 'The answer.',
		});
		expect(splitReasoning('Use the `</think>` tag to end it.')).toEqual({
			reasoning: '',
			text: 'Use the `</think>` tag to end it.',
		});
		expect(splitReasoning('<think>cut off while thinking').text).toBe('');
	});

	it.each([1, 2, 3, 5, 7])('over a stream cut into pieces of %i characters', (size) => {
		const text = '<think>\nplan [9]\n</think>\n\nThe <b>answer</b>.';
		const splitter = new ReasoningSplitter();
		let out = '';
		for (let i = 0; i < text.length; i += size) out += splitter.push(text.slice(i, i + size));
		out += splitter.end();
		expect(out).toBe('The <b>answer</b>.');
		expect(splitter.reasoning.trim()).toBe('plan [9]');
	});

	it('passes a text without a reasoning block through unchanged, even one starting with "<"', () => {
		const splitter = new ReasoningSplitter();
		expect(['<', 'b>bold</b>'].map((p) => splitter.push(p)).join('') + splitter.end()).toBe(
			'<b>bold</b>',
		);
	});
});

describe('the wait a provider names in its 429', () => {
	const apiError = (fields: object) => Object.assign(new Error('429'), { status: 429, ...fields });

	it('reads Retry-After, retry-after-ms, OpenAI durations, OpenRouter epoch resets, Gemini RetryInfo, the message', () => {
		const now = 1_000_000_000_000;
		expect(retryAfterMs(apiError({ headers: new Headers({ 'retry-after': '7' }) }))).toBe(7000);
		expect(retryAfterMs(apiError({ headers: new Headers({ 'retry-after-ms': '1234' }) }))).toBe(
			1234,
		);
		expect(
			rateLimitResetMs(
				apiError({ headers: new Headers({ 'x-ratelimit-reset-requests': '6m0s' }) }),
			),
		).toBe(360_000);
		expect(
			rateLimitResetMs(
				apiError({ headers: new Headers({ 'x-ratelimit-reset': String(now + 2500) }) }),
				now,
			),
		).toBe(2500);
		const gemini = apiError({
			error: {
				code: 429,
				status: 'RESOURCE_EXHAUSTED',
				details: [
					{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '45.837906927s' },
				],
			},
		});
		expect(retryAfterMs(gemini)).toBe(45_838);
		expect(rateLimitResetMs(apiError({ message: 'Please try again in 20s.' }))).toBe(20_000);
		expect(rateLimitResetMs(apiError({ message: 'Please retry after 6 seconds.' }))).toBe(6000);
	});
});

describe('the wire adapter on requests and answers the suite does not meet elsewhere', () => {
	const policy = new FixedDelayRetryPolicy({ delay: 0, maxRetries: 1 });

	it('drops any parameter a provider refuses by name (Mistral: store) and remembers it for the model', async () => {
		const server = new OfflineModelServer({ profile: 'mistral' });
		await server.start();
		try {
			const config = {
				baseUrl: server.baseUrl,
				apiKey: '',
				chatModel: 'mistral-small-latest',
				embeddingModel: '',
				provider: 'mistral' as const,
			};
			const model = new ChatOpenAI({
				apiKey: 'k',
				model: config.chatModel,
				maxRetries: 0,
				modelKwargs: { store: false },
				configuration: { baseURL: config.baseUrl, fetch: providerFetch(config) },
			});
			server.setHandler(() => ({ content: 'fine' }));
			for (const question of ['one', 'two']) {
				const reply = await invokeChatModel(model, [new HumanMessage(question)], { policy });
				expect(messageText(reply)).toBe('fine');
			}
			expect(
				server.requestsTo('chat').map((r) => [r.status, 'store' in (r.body as object)]),
			).toEqual([
				[422, true],
				[200, false],
				[200, false],
			]);
			expect(refusedParameters(config, config.chatModel)).toEqual(['store']);
		} finally {
			forgetRefusedParameters();
			await server.stop();
		}
	});

	it('makes an error OpenRouter sends with HTTP 200 a failure with its status, retried', async () => {
		const server = new OfflineModelServer({ profile: 'openrouter' });
		await server.start();
		try {
			const config = {
				baseUrl: server.baseUrl,
				apiKey: 'k',
				chatModel: 'openai/gpt-4o-mini',
				embeddingModel: '',
				provider: 'openrouter' as const,
			};
			server.setHandler(() => ({ content: 'fine' }));
			server.fail({ type: 'streamError', status: 502, message: 'Upstream idle' });
			const retries: string[] = [];
			const reply = await invokeChatModel(createChatModel(config), [new HumanMessage('hi')], {
				policy,
				log: (line) => retries.push(line),
			});
			expect(messageText(reply)).toBe('fine');
			expect(retries[0]).toMatch(/Upstream idle \(provider DeepInfra/);
			expect(server.requestsTo('chat').map((r) => r.status)).toEqual([200, 200]);
		} finally {
			await server.stop();
		}
	});

	it('gives unique ids to tool calls that reuse one and JSON to arguments sent as ""', async () => {
		const server = new OfflineModelServer();
		await server.start();
		try {
			const config = { baseUrl: server.baseUrl, apiKey: '', chatModel: 'm', embeddingModel: '' };
			server.reply(
				{ toolCalls: [{ name: 'echo', arguments: '', id: 'call_1' }] },
				{ toolCalls: [{ name: 'echo', arguments: { input: 'x' }, id: 'call_1' }] },
				{ content: 'done' },
			);
			const calls: unknown[] = [];
			const echo = new DynamicStructuredTool({
				name: 'echo',
				description: 'echoes',
				schema: { type: 'object' as const, properties: { input: { type: 'string' } } },
				func: async (args: unknown) => (calls.push(args), 'echoed'),
			});
			const result = await runAgent(createChatModel(config), [new HumanMessage('go')], [echo], {
				policy,
			});
			expect(result.output).toBe('done');
			expect(calls).toEqual([{}, { input: 'x' }]);
			const last = server.requestsTo('chat').at(-1)!.body as ChatRequest;
			const ids = last.messages.flatMap((m) => (m.tool_calls ?? []).map((c) => c.id));
			expect(new Set(ids).size).toBe(2);
			expect(last.messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)).toEqual(
				ids,
			);
		} finally {
			await server.stop();
		}
	});
});

describe('the credential test of a server without GET /models', () => {
	const server = new OfflineModelServer({ apiKey: 'sk-probe-secret' });
	beforeAll(() => server.start());
	afterAll(() => server.stop());

	it('asks for a one-token completion instead, and reports a refused key without showing it', async () => {
		const config = {
			baseUrl: server.baseUrl,
			apiKey: 'sk-probe-secret',
			chatModel: 'offline-chat',
			embeddingModel: '',
		};
		server.fail({ type: 'status', status: 404 }, { route: 'models', times: 2 });
		const ok = await probeProvider(config);
		expect(ok).toMatchObject({ ok: true, provider: 'generic' });
		expect(ok.message).toMatch(/GET .*\/models is not served \(404\); a one-token chat completion/);
		const refused = await probeProvider({ ...config, apiKey: 'sk-wrong-probe' });
		expect(refused.ok).toBe(false);
		expect(refused.message).not.toContain('sk-wrong-probe');
		expect((server.requestsTo('chat')[0].body as { max_tokens?: number }).max_tokens).toBe(1);
	});
});

describe("Azure OpenAI's v1 API", () => {
	const server = new OfflineModelServer({ profile: 'azure', apiKey: 'azure-key-secret' });
	beforeAll(() => server.start());
	afterAll(() => server.stop());

	it('takes the key as api-key without api-version under /openai/v1, and refuses it as a Bearer token', async () => {
		server.setHandler(() => ({ content: 'from v1' }));
		const config = {
			baseUrl: `${server.baseUrl}/v1`,
			apiKey: 'azure-key-secret',
			chatModel: 'gpt-4o-mini',
			embeddingModel: '',
		};
		const policy = new NoRetryPolicy();
		const reply = await invokeChatModel(
			createChatModel({ ...config, provider: 'azure' }),
			[new HumanMessage('hi')],
			{ policy },
		);
		expect(messageText(reply)).toBe('from v1');
		expect(server.requestsTo('chat')[0]).toMatchObject({
			path: '/openai/v1/chat/completions',
			query: '',
		});
		await expect(
			invokeChatModel(
				createChatModel({ ...config, provider: 'generic' }),
				[new HumanMessage('hi')],
				{
					policy,
				},
			),
		).rejects.toMatchObject({ status: 401 });
	});
});
