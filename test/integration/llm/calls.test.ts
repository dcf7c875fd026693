/**
 * lib/llm against the offline model server with injected faults: calls succeed or fail exactly as the retry
 * policy says, and the server's request log shows the attempts and their spacing.
 */
import { HumanMessage } from '@langchain/core/messages';

import { mapWithConcurrency } from '../../../lib/concurrency';
import {
	createChatModel,
	createEmbeddings,
	embedTexts,
	invokeChatModel,
	UsageTracker,
	type LlmConfig,
} from '../../../lib/llm';
import {
	ExponentialBackoffRetryPolicy,
	FixedDelayRetryPolicy,
	NoRetryPolicy,
	RetryExhaustedError,
} from '../../../lib/retry';
import { cosine, embed, OfflineModelServer, offlineModelConfig } from '../../../stack/model-server';

const API_KEY = 'sk-llm-test-0123456789abcdef';
const server = new OfflineModelServer({ apiKey: API_KEY });
let config: LlmConfig;

beforeAll(async () => {
	config = offlineModelConfig(await server.start(), { apiKey: API_KEY });
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

const policy = (maxRetries = 3) =>
	new ExponentialBackoffRetryPolicy({ maxRetries, initialDelay: 50, maxDelay: 500, multiplier: 2 });

describe('invokeChatModel', () => {
	it('waits out two 429s with Retry-After: 1, then succeeds; three requests, spaced ≥ 1 s', async () => {
		server.fail({ type: 'status', status: 429, retryAfter: 1 }, { times: 2 });
		const usage = new UsageTracker();
		const log: string[] = [];
		const reply = await invokeChatModel(createChatModel(config), 'Say hi', {
			policy: policy(),
			usage,
			secrets: [API_KEY],
			log: (l) => log.push(l),
		});

		expect(reply.content).toContain('Say hi');
		const requests = server.requestsTo('chat');
		expect(requests.map((r) => r.status)).toEqual([429, 429, 200]);
		expect(requests[1].receivedAt - requests[0].receivedAt).toBeGreaterThanOrEqual(990);
		expect(requests[2].receivedAt - requests[1].receivedAt).toBeGreaterThanOrEqual(990);
		expect(log).toHaveLength(2);
		expect(log[0]).toMatch(/chat model call failed \(attempt 1\), retrying in 1000 ms: 429/);
		expect(usage.get().modelCalls).toBe(1);
		expect(usage.get().totalTokens).toBe(reply.usage_metadata?.total_tokens);
		expect(usage.get().totalTokens).toBeGreaterThan(0);
	});

	it('does not retry a 400: one request, the error as is', async () => {
		server.fail({ type: 'status', status: 400, message: 'Unsupported parameter: temperature' });
		const error = await invokeChatModel(createChatModel(config), 'x', { policy: policy() }).catch(
			(e: unknown) => e,
		);
		expect(error).not.toBeInstanceOf(RetryExhaustedError);
		expect((error as Error).message).toMatch(/400.*Unsupported parameter/);
		expect(server.requestsTo('chat')).toHaveLength(1);
	});

	it('retries a dropped connection when the policy allows it', async () => {
		server.fail({ type: 'drop' });
		const reply = await invokeChatModel(createChatModel(config), 'after a drop', {
			policy: new FixedDelayRetryPolicy({ maxRetries: 1, delay: 10 }),
		});
		expect(reply.content).toContain('after a drop');
		expect(server.requestsTo('chat').map((r) => r.status)).toEqual(['dropped', 200]);
	});

	it('fails on a dropped connection with NoRetryPolicy, after one request', async () => {
		server.fail({ type: 'drop' });
		await expect(
			invokeChatModel(createChatModel(config), 'x', { policy: new NoRetryPolicy() }),
		).rejects.toBeInstanceOf(RetryExhaustedError);
		expect(server.requestsTo('chat')).toHaveLength(1);
	});

	it('gives up after maxRetries on persistent 503s, recording every attempt', async () => {
		server.fail({ type: 'status', status: 503 }, { times: 10 });
		const error = (await invokeChatModel(createChatModel(config), 'x', { policy: policy(2) }).catch(
			(e: unknown) => e,
		)) as RetryExhaustedError;
		expect(error).toBeInstanceOf(RetryExhaustedError);
		expect(error.attempts).toHaveLength(3);
		expect(error.attempts.map((a) => a.delayMs)).toEqual([50, 100, undefined]);
		expect(server.requestsTo('chat')).toHaveLength(3);
	});

	it('retries a timed-out attempt and aborts the request', async () => {
		server.fail({ type: 'delay', ms: 2000 });
		const reply = await invokeChatModel(createChatModel(config), 'slow then fast', {
			policy: policy(1),
			timeoutMs: 300,
		});
		expect(reply.content).toContain('slow then fast');
		expect(server.requestsTo('chat')).toHaveLength(2);
	});

	it('stops when the execution is cancelled during a wait', async () => {
		server.fail({ type: 'status', status: 429, retryAfter: 30 });
		const controller = new AbortController();
		setTimeout(() => controller.abort(new Error('execution cancelled')), 100);
		const started = Date.now();
		await expect(
			invokeChatModel(createChatModel(config), 'x', {
				policy: policy(),
				signal: controller.signal,
			}),
		).rejects.toThrow('execution cancelled');
		expect(Date.now() - started).toBeLessThan(5000);
		expect(server.requestsTo('chat')).toHaveLength(1);
	});

	it('never shows the API key in thrown errors or log lines, even when the server echoes it', async () => {
		server.fail(
			{ type: 'status', status: 503, message: `Upstream rejected key ${API_KEY}` },
			{ times: 2 },
		);
		const log: string[] = [];
		const error = (await invokeChatModel(createChatModel(config), 'x', {
			policy: policy(1),
			secrets: [API_KEY],
			log: (l) => log.push(l),
		}).catch((e: unknown) => e)) as Error;
		const everything = [
			error.message,
			error.stack,
			...(error as RetryExhaustedError).attempts.map(
				(a) => `${(a.error as Error).message} ${(a.error as Error).stack}`,
			),
			...log,
		].join('\n');
		expect(everything).toContain('[redacted]');
		expect(everything).not.toContain(API_KEY);
		expect(log).toHaveLength(1);
	});

	it('does not leak a wrong key on 401', async () => {
		const wrong = { ...config, apiKey: 'sk-wrong-key-abcdefghijkl' };
		const error = (await invokeChatModel(createChatModel(wrong), 'x', {
			policy: policy(),
			secrets: [wrong.apiKey],
		}).catch((e: unknown) => e)) as Error;
		expect(error.message).toMatch(/401/);
		expect(`${error.message}${error.stack}`).not.toContain('sk-wrong-key-abcdefghijkl');
		expect(server.requestsTo('chat')).toHaveLength(1);
	});
});

describe('embedTexts', () => {
	const texts = Array.from({ length: 25 }, (_, i) => `document number ${i} about topic ${i % 4}`);

	it('sends one request per batch and keeps the input order', async () => {
		const result = await embedTexts(createEmbeddings(config), texts, {
			policy: policy(),
			batchSize: 10,
			concurrency: 2,
		});
		expect(result.calls).toBe(3);
		expect(
			server
				.requestsTo('embeddings')
				.map((r) => (r.body as { input: string[] }).input.length)
				.sort(),
		).toEqual([10, 10, 5]);
		expect(result.vectors).toHaveLength(25);
		result.vectors.forEach((vector, i) =>
			expect(cosine(vector, embed(texts[i]))).toBeCloseTo(1, 5),
		);
	});

	it('retries a failing batch without repeating the others', async () => {
		server.fail({ type: 'status', status: 500 }, { route: 'embeddings' });
		const result = await embedTexts(createEmbeddings(config), texts, {
			policy: policy(),
			batchSize: 10,
			concurrency: 1,
		});
		expect(result.calls).toBe(3);
		expect(server.requestsTo('embeddings').map((r) => r.status)).toEqual([500, 200, 200, 200]);
	});

	it('keeps at most `concurrency` batches in flight', async () => {
		server.embeddingLatencyMs = 100;
		let inFlight = 0;
		let peak = 0;
		const embedder = createEmbeddings(config);
		const counting = {
			embedDocuments: async (batch: string[]) => {
				peak = Math.max(peak, ++inFlight);
				try {
					return await embedder.embedDocuments(batch);
				} finally {
					inFlight--;
				}
			},
		};
		await embedTexts(counting, texts, { policy: policy(), batchSize: 5, concurrency: 2 });
		expect(peak).toBe(2);
	});

	it('hands each batch to onBatch as it arrives, embeds on while it is handled, and waits for every handler', async () => {
		server.embeddingLatencyMs = 50;
		const handled: Array<{ start: number; count: number; requestsSoFar: number }> = [];
		let release!: () => void;
		const firstHeld = new Promise<void>((resolve) => (release = resolve));
		const result = await embedTexts(createEmbeddings(config), texts, {
			policy: policy(),
			batchSize: 10,
			concurrency: 1,
			onBatch: async (vectors, start) => {
				handled.push({
					start,
					count: vectors.length,
					requestsSoFar: server.requestsTo('embeddings').length,
				});
				vectors.forEach((vector, i) =>
					expect(cosine(vector, embed(texts[start + i]))).toBeCloseTo(1, 5),
				);
				if (start === 0) {
					// The first handler is held until the last batch was requested: embedding did not wait for it.
					setTimeout(release, 200);
					await firstHeld;
					expect(server.requestsTo('embeddings')).toHaveLength(3);
				}
			},
		});
		expect(handled.map((h) => [h.start, h.count]).sort((a, b) => a[0] - b[0])).toEqual([
			[0, 10],
			[10, 10],
			[20, 5],
		]);
		expect(result.vectors).toHaveLength(25);

		const failing = embedTexts(createEmbeddings(config), texts, {
			policy: policy(),
			batchSize: 10,
			onBatch: async (_vectors, start) => {
				if (start === 10) throw new Error('write failed');
			},
		});
		await expect(failing).rejects.toThrow('write failed');
	});

	it('fails on an empty text (400) without retrying', async () => {
		await expect(
			embedTexts(createEmbeddings(config), ['ok', ''], { policy: policy() }),
		).rejects.toThrow(/400/);
		expect(server.requestsTo('embeddings')).toHaveLength(1);
	});
});

describe('mapWithConcurrency', () => {
	it('rejects a bad limit and keeps order', async () => {
		await expect(mapWithConcurrency([1], 0, async (x) => x)).rejects.toThrow(RangeError);
		await expect(
			mapWithConcurrency(
				[3, 1, 2],
				2,
				async (x) => new Promise((r) => setTimeout(() => r(x * 10), x * 10)),
			),
		).resolves.toEqual([30, 10, 20]);
	});

	it('passes through a HumanMessage input unchanged', async () => {
		const reply = await invokeChatModel(
			createChatModel(config),
			[new HumanMessage('message input')],
			{ policy: policy() },
		);
		expect(reply.content).toContain('message input');
	});
});
