/** lib/llm's tool-calling loop against the offline model server with scripted replies and real LangChain tools. */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';

import {
	AgentError,
	createChatModel,
	restorePausedRun,
	runAgent,
	savePausedRun,
	type LlmConfig,
	type ToolCallDecision,
} from '../../../lib/llm';
import { NoRetryPolicy } from '../../../lib/retry';
import {
	OfflineModelServer,
	type ChatRequest,
	offlineModelConfig,
} from '../../../stack/model-server';

const server = new OfflineModelServer();
let config: LlmConfig;
beforeAll(async () => {
	config = offlineModelConfig(await server.start());
});
afterAll(() => server.stop());
beforeEach(() => {
	server.reset();
	server.setHandler(undefined);
});

const policy = new NoRetryPolicy();
const prompt = (text: string) => [
	new SystemMessage('You are a test agent.'),
	new HumanMessage(text),
];
const toolMessages = (request: { body: unknown }) =>
	(request.body as ChatRequest).messages
		.filter((m) => m.role === 'tool')
		.map((m) => String(m.content));

const calls: string[] = [];
const search = tool(
	async ({ query }) => (calls.push(`search:${query}`), `Redis keeps data in memory (${query})`),
	{
		name: 'search_docs',
		description: 'Search the docs',
		schema: z.object({ query: z.string() }),
	},
);
const remember = tool(
	async ({ key, value }) => (calls.push(`remember:${key}=${value}`), 'stored'),
	{
		name: 'remember',
		description: 'Store a fact',
		schema: z.object({ key: z.string(), value: z.string() }),
	},
);
beforeEach(() => (calls.length = 0));

describe('runAgent', () => {
	it('runs two tools in the order the model calls them and returns the final answer with steps and usage', async () => {
		server.reply(
			{ toolCalls: [{ name: 'search_docs', arguments: { query: 'redis' } }] },
			{ toolCalls: [{ name: 'remember', arguments: { key: 'db', value: 'redis' } }] },
			{ content: 'Redis is in-memory.' },
		);
		const result = await runAgent(
			createChatModel(config),
			prompt('What is Redis? Remember it.'),
			[search, remember],
			{ policy },
		);
		expect(result).toMatchObject({
			status: 'completed',
			output: 'Redis is in-memory.',
			iterations: 3,
		});
		expect(calls).toEqual(['search:redis', 'remember:db=redis']);
		expect(result.steps.map((s) => [s.tool, s.input, s.output])).toEqual([
			['search_docs', { query: 'redis' }, 'Redis keeps data in memory (redis)'],
			['remember', { key: 'db', value: 'redis' }, 'stored'],
		]);
		expect(result.usage.modelCalls).toBe(3);
		expect(result.usage.totalTokens).toBeGreaterThan(0);
		const requests = server.requestsTo('chat');
		expect(toolMessages(requests[1])).toEqual(['Redis keeps data in memory (redis)']);
		expect(toolMessages(requests[2])).toEqual(['Redis keeps data in memory (redis)', 'stored']);
	});

	it("returns a failing tool's error to the model, which recovers", async () => {
		let attempts = 0;
		const flaky = tool(
			async () => {
				if (++attempts === 1) throw new Error('upstream 503');
				return 'ok now';
			},
			{ name: 'flaky', description: 'Fails once', schema: z.object({}) },
		);
		server.reply(
			{ toolCalls: [{ name: 'flaky', arguments: {} }] },
			{ toolCalls: [{ name: 'flaky', arguments: {} }] },
			{ content: 'Recovered.' },
		);
		const result = await runAgent(createChatModel(config), prompt('Use flaky'), [flaky], {
			policy,
		});
		expect(result).toMatchObject({ status: 'completed', output: 'Recovered.' });
		expect(result.steps.map((s) => s.error ?? null)).toEqual(['upstream 503', null]);
		expect(toolMessages(server.requestsTo('chat')[1])).toEqual(['Error: upstream 503']);
	});

	it('tells the model when its tool-call arguments are not valid JSON, and goes on when it fixes them', async () => {
		server.reply(
			{ toolCalls: [{ name: 'search_docs', arguments: '{"query": "redis' }] },
			{ toolCalls: [{ name: 'search_docs', arguments: { query: 'redis' } }] },
			{ content: 'Done.' },
		);
		const result = await runAgent(createChatModel(config), prompt('Search'), [search], { policy });
		expect(result.status).toBe('completed');
		expect(result.steps[0].error).toMatch(/arguments for tool "search_docs" are not valid JSON/);
		expect(calls).toEqual(['search:redis']);
		expect(toolMessages(server.requestsTo('chat')[1])[0]).toMatch(/not valid JSON/);
	});

	it("refuses arguments that do not match the tool's schema, as a tool error the model sees", async () => {
		server.reply(
			{ toolCalls: [{ name: 'search_docs', arguments: { q: 1 } }] },
			{ content: 'Gave up.' },
		);
		const result = await runAgent(createChatModel(config), prompt('Search'), [search], { policy });
		expect(result.steps[0].error).toMatch(/schema/i);
		expect(calls).toEqual([]);
	});

	it('stops at Max Iterations with the partial result', async () => {
		server.setHandler(() => ({
			content: 'thinking',
			toolCalls: [{ name: 'search_docs', arguments: { query: 'again' } }],
		}));
		const result = await runAgent(createChatModel(config), prompt('Loop'), [search], {
			policy,
			maxIterations: 3,
		});
		expect(result).toMatchObject({ status: 'max_iterations', iterations: 3, output: 'thinking' });
		expect(result.reason).toMatch(/after 3 turns/);
		expect(result.steps).toHaveLength(3);
		expect(result.usage.modelCalls).toBe(3);
	});

	it('stops when the budget of model calls or tokens is used up', async () => {
		server.setHandler(() => ({ toolCalls: [{ name: 'search_docs', arguments: { query: 'x' } }] }));
		const byCalls = await runAgent(createChatModel(config), prompt('Loop'), [search], {
			policy,
			budget: { maxModelCalls: 2 },
		});
		expect(byCalls).toMatchObject({
			status: 'budget_exceeded',
			iterations: 2,
			usage: { modelCalls: 2 },
		});
		const byTokens = await runAgent(createChatModel(config), prompt('Loop'), [search], {
			policy,
			budget: { maxTotalTokens: 1 },
		});
		expect(byTokens).toMatchObject({ status: 'budget_exceeded', iterations: 1 });
		expect(byTokens.reason).toMatch(/budget of 1 tokens/);
	});

	it('times out a slow tool call and reports it to the model', async () => {
		const slow = tool(
			async () => new Promise<string>((resolve) => setTimeout(() => resolve('late'), 2000)),
			{ name: 'slow', description: 'Slow', schema: z.object({}) },
		);
		server.reply({ toolCalls: [{ name: 'slow', arguments: {} }] }, { content: 'Moved on.' });
		const t0 = Date.now();
		const result = await runAgent(createChatModel(config), prompt('Slow'), [slow], {
			policy,
			toolTimeoutMs: 100,
		});
		expect(Date.now() - t0).toBeLessThan(1500);
		expect(result.steps[0].error).toBe('Tool "slow" timed out after 100 ms');
		expect(result.status).toBe('completed');
	});

	it('stops after too many failed tool calls', async () => {
		const broken = tool(
			async () => {
				throw new Error('always broken');
			},
			{ name: 'broken', description: 'Broken', schema: z.object({}) },
		);
		server.setHandler(() => ({ toolCalls: [{ name: 'broken', arguments: {} }] }));
		const result = await runAgent(createChatModel(config), prompt('Break'), [broken], {
			policy,
			maxToolErrors: 1,
		});
		expect(result).toMatchObject({ status: 'tool_errors', iterations: 2 });
	});

	it('refuses two tools with the same name', async () => {
		await expect(
			runAgent(createChatModel(config), prompt('x'), [search, search], { policy }),
		).rejects.toThrow(AgentError);
		await expect(
			runAgent(createChatModel(config), prompt('x'), [search, search], { policy }),
		).rejects.toThrow(/Two tools are named "search_docs"/);
		expect(server.requestsTo('chat')).toHaveLength(0);
	});
});

describe('streaming', () => {
	it("streams each turn's text as it arrives and still runs the tool calls of a streamed reply", async () => {
		server.reply(
			{ toolCalls: [{ name: 'search_docs', arguments: { query: 'redis' } }] },
			{ content: 'Redis keeps its data in memory and persists it to disk on demand.' },
		);
		const deltas: string[] = [];
		const result = await runAgent(createChatModel(config), prompt('What is Redis?'), [search], {
			policy,
			onText: (d) => deltas.push(d),
		});
		expect(result).toMatchObject({
			status: 'completed',
			output: 'Redis keeps its data in memory and persists it to disk on demand.',
		});
		expect(calls).toEqual(['search:redis']);
		expect(deltas.length).toBeGreaterThan(1); // arrived in pieces
		expect(deltas.join('')).toBe(result.output);
		expect(server.requestsTo('chat').every((r) => (r.body as ChatRequest).stream === true)).toBe(
			true,
		);
		expect(result.usage.totalTokens).toBeGreaterThan(0);
	});

	it('does not retry a call whose stream broke after text was passed on, but retries one that broke before', async () => {
		const retrying = {
			maxRetries: 2,
			getRetryDelay: () => 0,
			type: 'fixed',
			toJSON: () => ({ type: 'fixed' }),
		} as never;
		server.fail({ type: 'truncate' });
		const deltas: string[] = [];
		await expect(
			runAgent(createChatModel(config), prompt('Tell me a long story about databases'), [], {
				policy: retrying,
				onText: (d) => deltas.push(d),
			}),
		).rejects.toThrow();
		expect(deltas.length).toBeGreaterThan(0);
		expect(server.requestsTo('chat')).toHaveLength(1);

		server.reset();
		server.fail({ type: 'status', status: 503 });
		const result = await runAgent(createChatModel(config), prompt('Hello'), [], {
			policy: retrying,
			onText: () => {},
		});
		expect(result.status).toBe('completed');
		expect(server.requestsTo('chat')).toHaveLength(2);
	});
});

describe('runAgent with approval', () => {
	const needsApproval = (call: { name: string }) => call.name === 'remember';
	/** The first run: it stops at the call of `remember`, which needs approval. */
	const pause = (model: ReturnType<typeof createChatModel>) =>
		runAgent(model, prompt('Look up redis and remember it'), [search, remember], {
			policy,
			needsApproval,
		});
	beforeEach(() =>
		server.reply(
			{
				toolCalls: [
					{ name: 'search_docs', arguments: { query: 'redis' } },
					{ name: 'remember', arguments: { key: 'db', value: 'redis' } },
				],
			},
			{ content: 'Done.' },
		),
	);

	it('runs the calls that need no approval at once and stops with the pending one', async () => {
		const model = createChatModel(config);
		const paused = await pause(model);
		expect(paused.status).toBe('awaiting_approval');
		expect(paused.pending).toEqual([
			{ id: expect.any(String), name: 'remember', args: { key: 'db', value: 'redis' } },
		]);
		expect(calls).toEqual(['search:redis']);
		expect(server.requestsTo('chat')).toHaveLength(1);
	});

	it.each([
		['approve', { action: 'approve' }, ['search:redis', 'remember:db=redis'], 'stored', 'approved'],
		[
			'edit',
			{ action: 'edit', args: { key: 'db', value: 'valkey' } },
			['search:redis', 'remember:db=valkey'],
			'stored',
			'edited',
		],
		[
			'reject',
			{ action: 'reject', message: 'not this one' },
			['search:redis'],
			"Not run: the reviewer rejected this call. Reviewer's message: not this one",
			'rejected',
		],
		[
			'time out',
			{ action: 'timed_out' },
			['search:redis'],
			'Not run: no reviewer approved this call in time.',
			'timed_out',
		],
	] as const)(
		'%s: continues from a JSON copy of the paused run, and the model sees the result',
		async (_name, decision, expectedCalls, toolResult, recorded) => {
			const model = createChatModel(config);
			const paused = await pause(model);
			const resumed = await runAgent(model, [], [search, remember], {
				policy,
				needsApproval,
				resume: {
					paused: restorePausedRun(savePausedRun(paused)),
					decisions: [{ id: paused.pending![0].id, ...decision } as ToolCallDecision],
				},
			});
			expect(resumed).toMatchObject({ status: 'completed', output: 'Done.', iterations: 2 });
			expect(calls).toEqual(expectedCalls);
			expect(resumed.steps.map((s) => [s.tool, s.approval?.decision])).toEqual([
				['search_docs', undefined],
				['remember', recorded],
			]);
			if (decision.action === 'edit')
				expect(resumed.steps[1]).toMatchObject({
					input: { key: 'db', value: 'valkey' },
					approval: { modelInput: { key: 'db', value: 'redis' } },
				});
			const second = server.requestsTo('chat')[1];
			expect(toolMessages(second)).toEqual(['Redis keeps data in memory (redis)', toolResult]);
			// Usage carries across the wait: both model calls are counted.
			expect(resumed.usage.modelCalls).toBe(2);
		},
	);

	it('counts usage from before the wait against the budget', async () => {
		const model = createChatModel(config);
		const paused = await pause(model);
		const resumed = await runAgent(model, [], [search, remember], {
			policy,
			budget: { maxModelCalls: 1 },
			resume: { paused, decisions: [{ id: paused.pending![0].id, action: 'approve' }] },
		});
		expect(resumed.status).toBe('budget_exceeded');
		expect(calls).toEqual(['search:redis', 'remember:db=redis']);
		expect(server.requestsTo('chat')).toHaveLength(1);
	});

	it('does not count the time spent waiting as working time', async () => {
		const model = createChatModel(config);
		const paused = await pause(model);
		await new Promise((resolve) => setTimeout(resolve, 500)); // the reviewer takes a while
		const resumed = await runAgent(model, [], [search, remember], {
			policy,
			budget: { maxWallTimeMs: 400 },
			resume: { paused, decisions: [{ id: paused.pending![0].id, action: 'approve' }] },
		});
		expect(resumed.status).toBe('completed');
		expect(resumed.durationMs).toBeLessThan(400);
	});
});
