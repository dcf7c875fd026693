import { OfflineModelServer } from '../support/model-server';
import { testNodeTypes } from '../support/test-nodes';
import { runWorkflow, type WorkflowJson } from '../support/workflow-runner';

const model = new OfflineModelServer({ apiKey: 'sk-runner-secret' });
beforeAll(() => model.start());
afterAll(() => model.stop());
beforeEach(() => model.reset());

const workflow = (continueOnFail = false): WorkflowJson => ({
	nodes: [
		{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: '[{"n":1},{"n":2}]' } },
		{
			id: '2',
			name: 'Models',
			type: 'test.listModels',
			typeVersion: 1,
			position: [200, 0],
			parameters: {},
			credentials: { openAgentsLlmApi: { id: '1', name: 'LLM' } },
			...(continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
		},
	],
	connections: { Items: { main: [[{ node: 'Models', type: 'main', index: 0 }]] } },
});

it('runs nodes in order, authenticating with the credential type\'s generic auth', async () => {
	const result = await runWorkflow(workflow(), {
		nodeTypes: testNodeTypes,
		credentials: { openAgentsLlmApi: { baseUrl: model.baseUrl, apiKey: 'sk-runner-secret' } },
	});
	expect(result.status).toBe('success');
	expect(result.executionOrder).toEqual(['Items', 'Models']);
	expect(result.outputs.Models[0].map((i) => i.json)).toEqual([
		{ models: ['offline-chat', 'offline-embedding'] },
		{ models: ['offline-chat', 'offline-embedding'] },
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
