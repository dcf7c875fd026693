/**
 * Provider limits in workflows run in-process: the LLM credential's rate limit (counted in real Redis) keeps an
 * Agent under a provider's request limit that refuses the same flow without it; fallback chat models answer when the
 * chat model keeps failing; every item carries its cost from the price table, the execution sums it, and Max Cost
 * stops a run. The model server enforces a provider-style token bucket (429 + Retry-After beyond it).
 */
import { randomBytes } from 'node:crypto';

import type { INodeParameters } from 'n8n-workflow';

import { closeProcessRateLimiters } from '../../lib/ratelimit';
import { OfflineModelServer, type ChatRequest } from '../../stack/model-server';
import { deleteKeys, redisFromEnv, redisUrl } from '../../stack/services';
import { offlineLlmCredential } from '../support/credentials';
import { testNodeTypes } from '../support/test-nodes';
import { roomInWindow } from '../support/windows';
import { itemsInto, runWorkflow } from '../support/workflow-runner';

const run = randomBytes(4).toString('hex');
const model = new OfflineModelServer();
const redis = redisFromEnv();
const REDIS_URL = redisUrl(redis);
let llmUrl: string;

beforeAll(async () => {
	llmUrl = await model.start();
});
afterAll(async () => {
	await closeProcessRateLimiters();
	await model.stop();
	await deleteKeys(redis, `openagents:rl:*${run}*`);
});
beforeEach(() => model.reset());

type Credential = Record<string, unknown>;

/** An Agent (Conversation template) over `items`, its model from the LLM credential `credential` adds fields to. */
async function agent(
	items: object[],
	credential: Credential,
	parameters: INodeParameters = {},
	continueOnFail = false,
) {
	const workflow = itemsInto(items, {
		name: 'Agent',
		type: 'openAgentsAgent',
		parameters: { template: 'conversation', retryPolicy: { type: 'none' }, ...parameters },
		credentials: { openAgentsLlmApi: { id: '1', name: 'llm' } },
		continueOnFail,
	});
	const result = await runWorkflow(workflow, {
		nodeTypes: testNodeTypes,
		credentials: { openAgentsLlmApi: { ...offlineLlmCredential(llmUrl), ...credential } },
	});
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shapes are asserted field by field below
	const json = (result.outputs.Agent?.[0] ?? []).map((i) => i.json as Record<string, any>);
	return { result, json };
}

const questions = (n: number) => Array.from({ length: n }, (_, i) => ({ chatInput: `q${i}` }));
const refused = () => model.requests.filter((r) => r.rateLimited).length;
const FIXED_RETRY = { retryPolicy: { type: 'fixed', delay: 200, maxRetries: 20 } };

describe('rate limit on the LLM credential', () => {
	it('keeps the requests under a provider limit that refuses the same flow without it', async () => {
		model.rateLimit = { requestsPerMinute: 240, burst: 4 }; // 4 per second, bucket of 4

		const without = await agent(questions(12), {}, FIXED_RETRY);
		expect(without.result.status).toBe('success');
		expect(refused()).toBeGreaterThan(0);

		model.reset();
		model.rateLimit = { requestsPerMinute: 240, burst: 4 };
		const limited = await agent(
			questions(12),
			{
				rateLimitStore: 'shared',
				rateLimitStoreUrl: REDIS_URL,
				requestsPerMinute: 240,
				rateLimitName: `limit-${run}`,
			},
			FIXED_RETRY,
		);
		expect(limited.result.status).toBe('success');
		expect(limited.json.every((item) => item.status === 'completed')).toBe(true);
		expect(refused()).toBe(0);
		const waits = limited.json.map((item) => item.usage.rateLimitWaitMs as number);
		expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThan(1_000); // 12 requests, one per 250 ms
		expect(limited.json.every((item) => item.usage.rateLimitWarning === undefined)).toBe(true);
	}, 60_000);

	it('fails the item with rate_limited when no slot comes within the Model Call Timeout', async () => {
		await roomInWindow(60_000, 5_000); // one request per minute: the next slot is far beyond 1 s
		const { json } = await agent(
			questions(3),
			{ rateLimitStore: 'process', requestsPerMinute: 1, rateLimitName: `slow-${run}` },
			{ options: { modelTimeoutSeconds: 1 } },
			true,
		);
		expect(json[0].status).toBe('completed');
		expect(json.slice(1).map((item) => item.code)).toEqual(['rate_limited', 'rate_limited']);
		expect(model.requestsTo('chat')).toHaveLength(1);
	}, 20_000);

	it('rejects a shared limit without a store URL with a clear item error', async () => {
		const { json } = await agent(
			[{ chatInput: 'hi' }],
			{ rateLimitStore: 'shared', requestsPerMinute: 60 },
			{},
			true,
		);
		expect(json[0].error).toMatch(/Rate Limit Store URL is empty/);
		expect(model.requestsTo('chat')).toHaveLength(0);
	});

	it('rejects a negative limit with a clear item error before any request', async () => {
		const { json } = await agent(
			[{ chatInput: 'hi' }],
			{ rateLimitStore: 'process', requestsPerMinute: -5 },
			{},
			true,
		);
		expect(json[0].error).toMatch(/requestsPerMinute must be a whole number ≥ 0/);
		expect(model.requestsTo('chat')).toHaveLength(0);
	});

	it('limits in this process, with a warning on the item, when the shared store cannot be reached', async () => {
		const { json } = await agent([{ chatInput: 'hi' }], {
			rateLimitStore: 'shared',
			rateLimitStoreUrl: 'redis://127.0.0.1:1/0',
			requestsPerMinute: 600,
		});
		expect(json[0].status).toBe('completed');
		expect(json[0].usage.rateLimitWarning).toMatch(/this n8n process only/);
		expect(JSON.stringify(json[0])).not.toContain('127.0.0.1:1'); // the store URL is a secret
	}, 30_000);
});

describe('fallback chat models', () => {
	it('answers with the next model when the chat model keeps failing, and says which one answered', async () => {
		model.fail({ type: 'status', status: 503 }, { times: 2 });
		const { json } = await agent([{ chatInput: 'hi' }], {
			fallbackChatModels: 'backup-a, backup-b',
		});
		expect(json[0].status).toBe('completed');
		expect(model.requestsTo('chat').map((r) => (r.body as ChatRequest).model)).toEqual([
			'offline-chat',
			'backup-a',
			'backup-b',
		]);
		expect(json[0].usage.model).toBe('backup-b');
	});

	it('tries the Fallback Model sub-node first, then the credential fallbacks', async () => {
		const modelNode = (name: string, modelName: string) => ({
			id: name,
			name,
			type: 'test.chatModel',
			typeVersion: 1,
			position: [200, 200] as [number, number],
			parameters: { baseUrl: llmUrl, model: modelName },
		});
		const flow = () => {
			const workflow = itemsInto([{ chatInput: 'hi' }], {
				name: 'Agent',
				type: 'openAgentsAgent',
				parameters: { template: 'conversation', retryPolicy: { type: 'none' } },
				credentials: { openAgentsLlmApi: { id: '1', name: 'llm' } },
			});
			workflow.nodes.push(modelNode('Primary', 'primary-x'), modelNode('Fallback', 'fallback-y'));
			workflow.connections.Primary = {
				ai_languageModel: [[{ node: 'Agent', type: 'ai_languageModel', index: 0 }]],
			};
			workflow.connections.Fallback = {
				ai_languageModel: [[{ node: 'Agent', type: 'ai_languageModel', index: 1 }]],
			};
			return runWorkflow(workflow, {
				nodeTypes: testNodeTypes,
				credentials: {
					openAgentsLlmApi: { ...offlineLlmCredential(llmUrl), fallbackChatModels: 'backup-z' },
				},
			});
		};
		const models = () => model.requestsTo('chat').map((r) => (r.body as ChatRequest).model);

		const healthy = await flow();
		expect(healthy.outputs.Agent[0][0].json.status).toBe('completed');
		expect(models()).toEqual(['primary-x']);

		model.reset();
		model.fail({ type: 'status', status: 503 }, { times: 2 });
		const failing = await flow();
		expect(models()).toEqual(['primary-x', 'fallback-y', 'backup-z']);
		expect(failing.outputs.Agent[0][0].json.usage).toMatchObject({ model: 'backup-z' });
	});

	it('does not fall back on a request the provider rejects as invalid (400)', async () => {
		model.fail({ type: 'status', status: 400 }, { times: 1 });
		const { json } = await agent(
			[{ chatInput: 'hi' }],
			{ fallbackChatModels: 'backup-a' },
			{},
			true,
		);
		expect(json[0].error).toBeDefined();
		expect(model.requestsTo('chat')).toHaveLength(1);
	});
});

describe('cost', () => {
	it('prices every item with the credential prices and sums the execution cost', async () => {
		const { result, json } = await agent(questions(2), {
			prices: JSON.stringify({ 'offline-chat': { input: 1000, output: 2000 } }),
		});
		for (const item of json) {
			const { promptTokens, completionTokens, cost, currency } = item.usage;
			expect(promptTokens).toBeGreaterThan(0);
			expect(cost).toBeCloseTo((promptTokens * 1000 + completionTokens * 2000) / 1e6, 8);
			expect(currency).toBe('USD');
		}
		const metadata = result.run.data.resultData.metadata ?? {};
		expect(Number(metadata.openagents_cost)).toBeCloseTo(
			json[0].usage.cost + json[1].usage.cost,
			8,
		);
	});

	it('uses the built-in OpenAI price for a known model and counts calls of unpriced models', async () => {
		const known = await agent([{ chatInput: 'hi' }], { chatModel: 'gpt-4o-mini-2024-07-18' });
		const { promptTokens, completionTokens, cost, unpricedCalls } = known.json[0].usage;
		expect(cost).toBeCloseTo((promptTokens * 0.15 + completionTokens * 0.6) / 1e6, 10);
		expect(unpricedCalls).toBe(0);
		const unknown = await agent([{ chatInput: 'hi' }], {});
		expect(unknown.json[0].usage).toMatchObject({ cost: 0, unpricedCalls: 1 });
	});

	it('prices in another currency with the credential prices only (the built-in ones are USD)', async () => {
		const { json } = await agent([{ chatInput: 'hi' }], {
			chatModel: 'gpt-4o-mini',
			currency: 'EUR',
		});
		expect(json[0].usage).toMatchObject({ cost: 0, currency: 'EUR', unpricedCalls: 1 });
		const priced = await agent([{ chatInput: 'hi' }], {
			chatModel: 'gpt-4o-mini',
			currency: 'EUR',
			prices: { 'gpt-4o-mini': { input: 100, output: 100 } },
		});
		const { totalTokens, cost } = priced.json[0].usage;
		expect(cost).toBeCloseTo((totalTokens * 100) / 1e6, 8);
	});

	it('stops a run once Max Cost is spent, as the other budgets do', async () => {
		model.setHandler(() => ({
			content: 'Looking it up.',
			toolCalls: [{ name: 'lookup', arguments: { input: 'x' } }],
		}));
		const workflow = itemsInto([{ chatInput: 'go' }], {
			name: 'Agent',
			type: 'openAgentsAgent',
			parameters: {
				template: 'conversation',
				retryPolicy: { type: 'none' },
				options: { maxCost: 0.001 },
			},
			credentials: { openAgentsLlmApi: { id: '1', name: 'llm' } },
		});
		workflow.nodes.push({
			id: 't',
			name: 'Lookup',
			type: 'test.tool',
			typeVersion: 1,
			position: [200, 200],
			parameters: {},
		});
		workflow.connections.Lookup = { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] };
		const result = await runWorkflow(workflow, {
			nodeTypes: testNodeTypes,
			credentials: {
				openAgentsLlmApi: {
					...offlineLlmCredential(llmUrl),
					// 1 USD per token in: the first call alone spends far more than 0.001.
					prices: { 'offline-chat': { input: 1_000_000, output: 0 } },
				},
			},
		});
		const item = result.outputs.Agent[0][0].json as Record<string, unknown>;
		expect(item.status).toBe('budget_exceeded');
		expect(item.reason).toMatch(/budget of 0.001 USD/);
		expect(model.requestsTo('chat')).toHaveLength(1);
	});
});

describe('Planner', () => {
	const plan = {
		goal: 'g',
		tasks: ['a', 'b', 'c', 'd'].map((id) => ({
			id,
			title: `Do ${id}`,
			description: '',
			agent: 'worker',
			dependsOn: [],
		})),
	};
	const planner = (credential: Credential, options: INodeParameters) =>
		runWorkflow(
			itemsInto([{}], {
				name: 'Planner',
				type: 'openAgentsPlanner',
				parameters: {
					operation: 'executePlan',
					plan: JSON.stringify(plan),
					planRunId: `limits-${run}-${Math.random()}`,
					store: 'inProcess',
					retryPolicy: { type: 'none' },
					options: { concurrency: 4, synthesize: false, ...options },
				},
				credentials: { openAgentsLlmApi: { id: '1', name: 'llm' } },
			}),
			{
				nodeTypes: testNodeTypes,
				credentials: { openAgentsLlmApi: { ...offlineLlmCredential(llmUrl), ...credential } },
			},
		);

	it('runs parallel tasks under the limit the provider enforces', async () => {
		model.rateLimit = { requestsPerMinute: 120 };
		const result = await planner(
			{ rateLimitStore: 'process', requestsPerMinute: 120, rateLimitName: `plan-${run}` },
			{},
		);
		// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shape asserted below
		const item = result.outputs.Planner[0][0].json as Record<string, any>;
		expect(item.tasks.map((t: { status: string }) => t.status)).toEqual(Array(4).fill('completed'));
		expect(refused()).toBe(0);
		expect(item.usage.rateLimitWaitMs).toBeGreaterThan(1_000);
	}, 30_000);

	it('hands a task to the Fallback Model sub-node when the chat model keeps failing', async () => {
		const workflow = itemsInto([{}], {
			name: 'Planner',
			type: 'openAgentsPlanner',
			parameters: {
				operation: 'executePlan',
				plan: JSON.stringify({ goal: 'g', tasks: [plan.tasks[0]] }),
				planRunId: `fallback-${run}`,
				store: 'inProcess',
				retryPolicy: { type: 'none' },
				options: { synthesize: false },
			},
		});
		for (const [name, index, modelName] of [
			['Primary', 0, 'primary-x'],
			['Fallback', 1, 'fallback-y'],
		] as const) {
			workflow.nodes.push({
				id: name,
				name,
				type: 'test.chatModel',
				typeVersion: 1,
				position: [200, 200],
				parameters: { baseUrl: llmUrl, model: modelName },
			});
			workflow.connections[name] = {
				ai_languageModel: [[{ node: 'Planner', type: 'ai_languageModel', index }]],
			};
		}
		model.fail({ type: 'status', status: 502 }, { times: 1 });
		const result = await runWorkflow(workflow, { nodeTypes: testNodeTypes });
		// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shape asserted below
		const item = result.outputs.Planner[0][0].json as Record<string, any>;
		expect(item.tasks[0].status).toBe('completed');
		expect(model.requestsTo('chat').map((r) => (r.body as ChatRequest).model)).toEqual([
			'primary-x',
			'fallback-y',
		]);
		expect(item.usage.model).toBe('fallback-y');
	});

	it('stops starting tasks once Max Cost is spent', async () => {
		const result = await planner(
			{ prices: { 'offline-chat': { input: 1_000_000, output: 0 } } },
			{ concurrency: 1, maxCost: 0.5 },
		);
		// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output shape asserted below
		const item = result.outputs.Planner[0][0].json as Record<string, any>;
		expect(item.tasks.map((t: { status: string }) => t.status)).toEqual([
			'completed',
			'not_run',
			'not_run',
			'not_run',
		]);
		expect(item.tasks[1].error).toMatch(/budget of 0.5 USD is used up/);
	});
});
