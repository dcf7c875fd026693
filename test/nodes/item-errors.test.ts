/**
 * One failed-item rule for all five nodes: for one bad input item among good ones, the thrown error is
 * `Item <i>: <cause>` with the item index and the node's hint; with Continue On Fail the item is
 * `{ error: "Item <i>: <cause>", code, … }` with pairedItem, and the good items still come out.
 */
import { randomBytes } from 'node:crypto';

import type { INodeParameters, NodeOperationError } from 'n8n-workflow';

import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer } from '../../stack/model-server';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { testNodeTypes } from '../support/test-nodes';
import {
	chromaCredential,
	offlineLlmCredential,
	redisStoreCredential,
} from '../support/credentials';
import { itemsInto, runWorkflow } from '../support/workflow-runner';

const run = randomBytes(4).toString('hex');
const model = new OfflineModelServer();
const memoryPrefix = `openagents-item-errors-${run}`;
const KB = `item-errors-${run}`;
let chroma: ChromaServer;
let llmUrl: string;

beforeAll(async () => {
	[chroma, llmUrl] = await Promise.all([startChroma(), model.start()]);
}, 60_000);
afterAll(async () => {
	await Promise.all([
		chroma?.stop(),
		model.stop(),
		deleteKeys(redisFromEnv(), `${memoryPrefix}:*`),
	]);
});

const credentialData = () => ({
	openAgentsLlmApi: offlineLlmCredential(llmUrl),
	openAgentsChromaApi: chromaCredential(chroma.url),
	openAgentsMemoryStore: redisStoreCredential(memoryPrefix),
	// Nothing listens on port 9: every call fails at once with ECONNREFUSED.
	openAgentsN8nApi: { baseUrl: 'http://127.0.0.1:9/api/v1', apiKey: 'n8n-key' },
});
const credentials = {
	openAgentsLlmApi: { id: '1', name: 'llm' },
	openAgentsChromaApi: { id: '2', name: 'chroma' },
	openAgentsMemoryStore: { id: '3', name: 'memory' },
	openAgentsN8nApi: { id: '4', name: 'n8n' },
};

interface Case {
	type: string;
	/** The last item is the bad one; the others succeed. */
	items: object[];
	parameters: INodeParameters;
	cause: RegExp;
	code: string | null;
	hint: RegExp;
}

const CASES: Record<string, Case> = {
	Agent: {
		type: 'openAgentsAgent',
		items: [{ chatInput: 'hello' }, { chatInput: '   ' }],
		parameters: { template: 'conversation' },
		cause: /^Item 1: The prompt is empty/,
		code: 'EMPTY_PROMPT',
		hint: /Map the user's message into Prompt/,
	},
	Planner: {
		type: 'openAgentsPlanner',
		items: [
			{ plan: { goal: 'g', tasks: [{ id: 'a', title: 'A', agent: 'worker', dependsOn: [] }] } },
			{ plan: { goal: 'g', tasks: [{ id: 'a', title: 'A', agent: 'worker', dependsOn: ['a'] }] } },
		],
		parameters: {
			operation: 'executePlan',
			plan: '={{ $json.plan }}',
			store: 'credential',
			options: { synthesize: false },
		},
		cause: /^Item 1: .*depends on itself/i,
		code: 'invalid_plan',
		hint: /could not produce a valid plan/,
	},
	KnowledgeBase: {
		type: 'openAgentsKnowledgeBase',
		items: [{ text: 'Pools keep ten idle connections.' }, { text: '' }],
		parameters: {
			operation: 'ingest',
			knowledgeBase: KB,
			inputType: 'text',
			text: '={{ $json.text }}',
			sourceId: '={{ "doc-" + $itemIndex }}',
			metadata: '{}',
		},
		cause: /^Item 1: Document "doc-1" has no text/,
		code: 'EMPTY_DOCUMENT',
		hint: /Knowledge Base "ingest" failed/,
	},
	Memory: {
		type: 'openAgentsMemory',
		items: [{ key: 'plan' }, { key: '' }],
		parameters: {
			store: 'credential',
			operation: 'get',
			scope: 'custom',
			scopeId: 'item-errors',
			key: '={{ $json.key }}',
		},
		cause: /^Item 1: The key must be a non-empty string/,
		code: 'invalid_address',
		hint: /Check Scope, Scope ID, Isolation Key and Key/,
	},
	JobMonitorDashboard: {
		type: 'openAgentsJobMonitor',
		// The good item renders a page even though no n8n API answers: the executions panel says why.
		items: [{ range: '1h' }, { range: 'yesterday' }],
		parameters: {
			resource: 'metric',
			operation: 'renderDashboard',
			range: '={{ $json.range }}',
			options: { workerWaitMs: 50 },
		},
		cause: /Unknown Time Range "yesterday"/,
		code: null,
		hint: /Use one of 15m, 1h, 6h, 24h, 7d, 30d or custom/,
	},
	JobMonitor: {
		type: 'openAgentsJobMonitor',
		// No item of Get Job can succeed without an n8n API, so the one item is the bad one: its Retry Policy is invalid,
		// and the error raised for that carries its own description, which must survive.
		items: [{ initialDelay: 5000 }],
		parameters: {
			resource: 'job',
			operation: 'getJob',
			executionId: '1',
			retryPolicy: {
				type: 'exponential',
				maxRetries: 0,
				initialDelay: '={{ $json.initialDelay }}',
				maxDelay: 100,
			},
		},
		cause:
			/^Item 0: Invalid Retry Policy: .*initialDelay \(5000 ms\) must not exceed maxDelay \(100 ms\)/,
		code: null,
		hint: /^Check the values under Options > Retry Policy\.$/,
	},
};

const exec = (c: Case, continueOnFail: boolean) =>
	runWorkflow(
		itemsInto(c.items, {
			name: 'Node',
			type: c.type,
			parameters: { retryPolicy: { type: 'none' }, ...c.parameters },
			credentials,
			continueOnFail,
		}),
		{
			nodeTypes: testNodeTypes,
			credentials: credentialData(),
		},
	);

describe.each(Object.entries(CASES))('%s', (_name, c) => {
	const bad = c.items.length - 1;

	it('throws "Item <i>: …" with the item index, its code and the hint for its code', async () => {
		const result = await exec(c, false);
		expect(result.status).toBe('error');
		const error = result.nodeErrors.Node as NodeOperationError;
		expect(error.name).toBe('NodeOperationError');
		expect(error.message).toMatch(c.cause);
		expect(error.context.itemIndex).toBe(bad);
		expect(error.context.code ?? null).toBe(c.code);
		expect(error.description).toMatch(c.hint);
	});

	it('with Continue On Fail gives { error, code } with pairedItem and keeps the good items', async () => {
		const result = await exec(c, true);
		expect(result.status).toBe('success');
		const out = result.outputs.Node[0];
		expect(out.map((item) => item.pairedItem)).toEqual(c.items.map((_, item) => ({ item })));
		expect(out[bad].json).toMatchObject({ error: expect.stringMatching(c.cause), code: c.code });
		for (const good of out.slice(0, bad)) expect(good.json.error).toBeUndefined();
	});
});

it('Job Monitor: an unreachable n8n API is the item error, with the hint for API_UNAVAILABLE', async () => {
	const c = { ...CASES.JobMonitor, items: [{ initialDelay: 10 }] };
	const thrown = (await exec(c, false)).nodeErrors.Node as NodeOperationError;
	expect(thrown.message).toMatch(/^Item 0: /);
	expect(thrown.description).toMatch(
		/Check the Base URL of the OpenAgents Instance API credential/,
	);
	expect((await exec(c, true)).outputs.Node[0][0].json).toMatchObject({
		error: expect.stringMatching(/^Item 0: /),
		code: 'API_UNAVAILABLE',
	});
});
