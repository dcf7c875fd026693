/**
 * Model calls under a provider limit, against the offline model server: a 429's Retry-After becomes a cool-down every
 * call of that key honours (not only the one that met it), embeddings and chat share the gate, the token estimate is
 * corrected with the reported usage; prices match dated model names; OpenAI's reset headers are read.
 */
import { AIMessage, AIMessageChunk, HumanMessage } from '@langchain/core/messages';

import {
	createChatModel,
	createEmbeddings,
	embedTexts,
	invokeChatModel,
	parsePriceTable,
	priceOf,
	rateLimitKey,
	rerankWithApi,
	UsageTracker,
	type LlmConfig,
	type RateLimit,
} from '../../../lib/llm';
import { memoryLimiterStore, ProviderRateLimiter } from '../../../lib/ratelimit';
import { NoRetryPolicy, parseResetDuration, rateLimitResetMs } from '../../../lib/retry';
import { OfflineModelServer, offlineModelConfig } from '../../../stack/model-server';
import { roomInWindow } from '../../support/windows';

const server = new OfflineModelServer();
let config: LlmConfig;

beforeAll(async () => {
	config = offlineModelConfig(await server.start());
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

const limitOf = (limiter: ProviderRateLimiter): RateLimit => ({
	limiter,
	keyFor: (model) => rateLimitKey(config.baseUrl, model),
});
const policy = { policy: { maxRetries: 3, getRetryDelay: () => 10 } as never };

describe('a 429 cools every call of its key down', () => {
	async function secondCallDelay(rateLimit: RateLimit | undefined): Promise<number> {
		server.fail({ type: 'status', status: 429, retryAfter: 2 }, { times: 1 });
		const chat = createChatModel(config);
		const refusal = Promise.withResolvers<void>();
		// The first call logs its retry once it has handled the 429: the second starts after that.
		const first = invokeChatModel(chat, [new HumanMessage('one')], {
			...policy,
			rateLimit,
			log: () => refusal.resolve(),
		});
		await refusal.promise;
		const refusedAt = server.requests.find((r) => r.status === 429)!.receivedAt;
		await invokeChatModel(chat, [new HumanMessage('two')], { ...policy, rateLimit });
		await first;
		const second = server.requests.find(
			(r) => r.status === 200 && JSON.stringify(r.body).includes('two'),
		)!;
		return second.receivedAt - refusedAt;
	}

	it('holds back a call that never met the 429 until the Retry-After has passed', async () => {
		const limiter = new ProviderRateLimiter(memoryLimiterStore(), { requestsPerMinute: 6_000 });
		expect(await secondCallDelay(limitOf(limiter))).toBeGreaterThanOrEqual(1_900);
	}, 20_000);

	it('(without the limiter, the other call goes straight into the wall)', async () => {
		expect(await secondCallDelay(undefined)).toBeLessThan(500);
	}, 20_000);
});

describe('gate', () => {
	it('counts embedding batches as requests and records the wait in usage', async () => {
		// 60 per minute = one request per second.
		const limiter = new ProviderRateLimiter(memoryLimiterStore(), { requestsPerMinute: 60 });
		const usage = new UsageTracker();
		const windowEnd = await roomInWindow(1_000, 990); // start at a window's start
		const result = await embedTexts(createEmbeddings(config), ['a', 'b', 'c'], {
			policy: new NoRetryPolicy(),
			batchSize: 1,
			concurrency: 3,
			rateLimit: limitOf(limiter),
			usage,
		});
		expect(result.calls).toBe(3);
		// One per window: the third no earlier than the start of the window after next. Measured from the window, not
		// from the first request, which a busy event loop may send late.
		const times = server.requestsTo('embeddings').map((r) => r.receivedAt);
		expect(Math.max(...times)).toBeGreaterThanOrEqual(windowEnd + 1_000);
		expect(usage.get().rateLimitWaitMs).toBeGreaterThanOrEqual(2_700); // waits of ~0, 1 and 2 s
	}, 20_000);

	it('gates rerank requests under the rerank model of the same credential', async () => {
		const limiter = new ProviderRateLimiter(memoryLimiterStore(), { requestsPerMinute: 60 });
		const usage = new UsageTracker();
		const windowEnd = await roomInWindow(1_000, 900);
		for (let i = 0; i < 2; i++)
			await rerankWithApi(config, 'offline-rerank', 'pools', ['pool size', 'log files'], {
				policy: new NoRetryPolicy(),
				rateLimit: limitOf(limiter),
				usage,
			});
		const [, second] = server.requestsTo('rerank').map((r) => r.receivedAt);
		expect(second).toBeGreaterThanOrEqual(windowEnd);
		expect(usage.get()).toMatchObject({ modelCalls: 2, model: 'offline-rerank' });
	}, 20_000);

	it('charges the reported tokens, so a call that used more than its estimate holds the next one back', async () => {
		// 36 tokens per minute: 6 per 10 s window. The estimate of "hi" is 1 token; the reply reports more.
		const limiter = new ProviderRateLimiter(memoryLimiterStore(), { tokensPerMinute: 36 });
		const usage = new UsageTracker();
		await roomInWindow(10_000, 2_000);
		await invokeChatModel(createChatModel(config), [new HumanMessage('hi')], {
			policy: new NoRetryPolicy(),
			rateLimit: limitOf(limiter),
			usage,
		});
		expect(usage.get().totalTokens).toBeGreaterThan(6);
		await expect(
			invokeChatModel(createChatModel(config), [new HumanMessage('hi')], {
				policy: new NoRetryPolicy(),
				rateLimit: limitOf(limiter),
				timeoutMs: 500, // also bounds the wait for a slot
			}),
		).rejects.toThrow(/No rate-limit slot/);
		expect(server.requestsTo('chat')).toHaveLength(1);
	});
});

describe('prices', () => {
	it('matches dated snapshots and provider prefixes to the base model, longest name first', () => {
		expect(priceOf('gpt-4o-mini-2024-07-18')).toEqual(priceOf('gpt-4o-mini'));
		expect(priceOf('gpt-4o-2024-08-06')).toEqual(priceOf('gpt-4o'));
		expect(priceOf('openai/gpt-4.1-nano')).toEqual(priceOf('gpt-4.1-nano'));
		expect(priceOf('gpt-4o-mini')).not.toEqual(priceOf('gpt-4o'));
		expect(priceOf('llama3.1:8b')).toBeUndefined();
	});

	it('prices cached prompt tokens at the cached-input price', () => {
		const usage = new UsageTracker({ m: { input: 2, cachedInput: 0.5, output: 8 } });
		usage.record(
			{ input_tokens: 1_000, output_tokens: 100, input_token_details: { cache_read: 600 } },
			'm',
		);
		expect(usage.get().cost).toBeCloseTo((400 * 2 + 600 * 0.5 + 100 * 8) / 1e6, 10);
		expect(usage.get().cachedPromptTokens).toBe(600);
	});

	it('lists every problem of a price table with its model and field', () => {
		expect(() => parsePriceTable({ a: { input: -1, output: 1 }, b: { input: 1 } })).toThrow(
			/a\.input: Number must be greater than or equal to 0; b\.output: Required/,
		);
		expect(parsePriceTable('')).toEqual({});
	});
});

describe('reset headers', () => {
	it("reads OpenAI's x-ratelimit-reset durations when there is no Retry-After", () => {
		expect(parseResetDuration('6m0s')).toBe(360_000);
		expect(parseResetDuration('1.5s')).toBe(1_500);
		expect(parseResetDuration('20ms')).toBe(20);
		expect(parseResetDuration('soon')).toBeUndefined();
		const error = {
			status: 429,
			headers: { 'x-ratelimit-reset-requests': '120ms', 'x-ratelimit-reset-tokens': '2s' },
		};
		expect(rateLimitResetMs(error)).toBe(2_000);
		expect(rateLimitResetMs({ ...error, headers: { 'retry-after': '3' } })).toBe(3_000);
	});
});

describe('fallback models', () => {
	it('are not tried once the failing model has streamed text (the receiver cannot take it back)', async () => {
		const failing = {
			invoke: async () => {
				throw Object.assign(new Error('overloaded'), { status: 503 });
			},
			stream: async () =>
				(async function* () {
					yield new AIMessageChunk('partial ');
					throw Object.assign(new Error('overloaded'), { status: 503 });
				})(),
		};
		const fallback = { invoke: jest.fn(async () => new AIMessage('from the fallback')) };
		const texts: string[] = [];
		await expect(
			invokeChatModel(failing, [new HumanMessage('hi')], {
				policy: new NoRetryPolicy(),
				fallbacks: [fallback],
				onText: (t) => texts.push(t),
			}),
		).rejects.toThrow('overloaded');
		expect(texts).toEqual(['partial ']);
		expect(fallback.invoke).not.toHaveBeenCalled();

		// The same failure before any text: the fallback answers.
		const reply = await invokeChatModel(failing, [new HumanMessage('hi')], {
			policy: new NoRetryPolicy(),
			fallbacks: [fallback],
		});
		expect(reply.content).toBe('from the fallback');
	});
});
