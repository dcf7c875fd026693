import type { INodeParameters } from 'n8n-workflow';

import { OfflineModelServer } from '../../stack/model-server';
import { testNodeTypes } from '../support/test-nodes';
import { runWorkflow, type WorkflowJson } from '../support/workflow-runner';

const model = new OfflineModelServer({ apiKey: 'sk-runner-secret' });
beforeAll(() => model.start());
afterAll(() => model.stop());
beforeEach(() => model.reset());

const workflow = (continueOnFail = false, retryPolicy: INodeParameters = {}): WorkflowJson => ({
	nodes: [
		{
			id: '1',
			name: 'Items',
			type: 'test.items',
			typeVersion: 1,
			position: [0, 0],
			parameters: { items: '[{"n":1},{"n":2}]' },
		},
		{
			id: '2',
			name: 'Models',
			type: 'test.listModels',
			typeVersion: 1,
			position: [200, 0],
			parameters: { retryPolicy },
			credentials: { openAgentsLlmApi: { id: '1', name: 'LLM' } },
			...(continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
		},
	],
	connections: { Items: { main: [[{ node: 'Models', type: 'main', index: 0 }]] } },
});

it("runs nodes in order, authenticating with the credential type's generic auth", async () => {
	const result = await runWorkflow(workflow(), {
		nodeTypes: testNodeTypes,
		credentials: { openAgentsLlmApi: { baseUrl: model.baseUrl, apiKey: 'sk-runner-secret' } },
	});
	expect(result.status).toBe('success');
	expect(result.executionOrder).toEqual(['Items', 'Models']);
	expect(result.outputs.Models[0].map((i) => i.json.models)).toEqual([
		['offline-chat', 'offline-embedding'],
		['offline-chat', 'offline-embedding'],
	]);
	expect(result.outputs.Models[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	expect(model.requestsTo('models')).toHaveLength(2);
});

it('fails the run on a node error (wrong API key) without continueOnFail', async () => {
	const result = await runWorkflow(workflow(), {
		nodeTypes: testNodeTypes,
		credentials: { openAgentsLlmApi: { baseUrl: model.baseUrl, apiKey: 'sk-wrong' } },
	});
	expect(result.status).toBe('error');
	expect(result.error?.message).toMatch(/401|Authorization failed|API key/i);
	expect(result.nodeErrors.Models?.message).toBe(result.error?.message);
	expect(result.outputs.Models).toEqual([]);
});

it('turns a node error into error items with continueOnFail', async () => {
	const result = await runWorkflow(workflow(true), {
		nodeTypes: testNodeTypes,
		credentials: { openAgentsLlmApi: { baseUrl: model.baseUrl, apiKey: 'sk-wrong' } },
	});
	expect(result.status).toBe('success');
	const items = result.outputs.Models[0];
	expect(items).toHaveLength(2);
	expect(items.every((i) => typeof i.json.error === 'string')).toBe(true);
	expect(JSON.stringify(items)).not.toContain('sk-wrong');
});

describe('Retry Policy option', () => {
	const credentials = () => ({
		openAgentsLlmApi: { baseUrl: model.baseUrl, apiKey: 'sk-runner-secret' },
	});

	it('defaults to exponential backoff (3 retries, 500 ms, 30 s, ×2, 0.2) and reports it in the output', async () => {
		model.fail({ type: 'status', status: 503 }, { route: 'models', times: 2 });
		const result = await runWorkflow(workflow(), {
			nodeTypes: testNodeTypes,
			credentials: credentials(),
		});
		expect(result.status).toBe('success');
		const [first, second] = result.outputs.Models[0].map((i) => i.json);
		expect(first.attempts).toBe(3);
		expect(second.attempts).toBe(1);
		expect(first.retryPolicy).toEqual({
			type: 'exponential',
			maxRetries: 3,
			initialDelay: 500,
			maxDelay: 30000,
			multiplier: 2,
			jitter: 0.2,
		});
		expect(model.requestsTo('models').map((r) => r.status)).toEqual([503, 503, 200, 200]);
	});

	it("honours Retry-After from n8n's own request helper errors", async () => {
		model.fail({ type: 'status', status: 429, retryAfter: 1 }, { route: 'models' });
		await runWorkflow(workflow(false, { type: 'fixed', delay: 10, maxRetries: 1 }), {
			nodeTypes: testNodeTypes,
			credentials: credentials(),
		});
		const [a, b] = model.requestsTo('models');
		expect(b.receivedAt - a.receivedAt).toBeGreaterThanOrEqual(990);
	});

	it('fails the item on the first error with policy None', async () => {
		model.fail({ type: 'status', status: 503 }, { route: 'models' });
		const result = await runWorkflow(workflow(true, { type: 'none' }), {
			nodeTypes: testNodeTypes,
			credentials: credentials(),
		});
		const [first, second] = result.outputs.Models[0];
		expect(first.json.error).toBeDefined();
		expect(first.pairedItem).toEqual({ item: 0 });
		expect(second.json.models).toBeDefined();
		expect(model.requestsTo('models')).toHaveLength(2);
	});

	it('rejects an invalid policy with a per-item error naming the problem', async () => {
		const result = await runWorkflow(workflow(false, { initialDelay: 5000, maxDelay: 100 }), {
			nodeTypes: testNodeTypes,
			credentials: credentials(),
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(
			/Invalid Retry Policy: .*initialDelay \(5000 ms\) must not exceed maxDelay \(100 ms\)/,
		);
		expect(model.requestsTo('models')).toHaveLength(0);
	});
});
