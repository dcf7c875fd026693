/**
 * The pickers in real queue-mode n8n: the list searches through n8n's own resource-locator endpoint (as the editor
 * calls it) against real Chroma, the offline model server and n8n's API, a failing search as n8n reports it, and in
 * the editor (headless Chromium): open each picker, search, select an entry, run the node with it.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { createEmbeddings } from '../../lib/llm';
import { ChromaKnowledgeStore, ingestDocuments, loadDocument } from '../../lib/rag';
import { NoRetryPolicy } from '../../lib/retry';
import { openEditor, type EditorSession } from '../../stack/browser';
import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer } from '../../stack/model-server';
import { nodeOutput } from '../../stack/n8n/client';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { REPO_ROOT } from '../../stack/n8n/community-package';
import { freePort } from '../../stack/process';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { roleSubWorkflow, webhookNode } from '../../stack/n8n/workflow-nodes';
import { offlineLlmCredential, redisStoreCredential } from '../support/credentials';

const { client } = clusterFromEnv();
const PICKED_CHAT_MODEL = 'picker-chat';
const model = new OfflineModelServer({ chatModel: PICKED_CHAT_MODEL });
const run = randomUUID().slice(0, 8);
const KB_ALPHA = `picker-alpha-${run}`;
const KB_BETA = `picker-beta-${run}`;
let chroma: ChromaServer;
let editor: EditorSession;
const credentials: Record<string, { id: string; name: string }> = {};

const PACKAGE = 'n8n-nodes-openagents';
const REDIS_PREFIX = `openagents-e2e-pickers-${run}`;

beforeAll(async () => {
	[chroma] = await Promise.all([startChroma(), model.start()]);
	const llm = offlineLlmCredential(model.baseUrl);
	// Two knowledge bases with 1 and 2 chunks, written as Ingest writes them.
	const store = new ChromaKnowledgeStore({ url: chroma.url }, { policy: new NoRetryPolicy() });
	const texts: Record<string, string[]> = {
		[KB_ALPHA]: ['Alpha keeps three replicas of every shard.'],
		[KB_BETA]: ['Beta compacts its log every night.', 'Beta answers reads from followers.'],
	};
	for (const [name, docs] of Object.entries(texts)) {
		const kb = await store.open(name, { create: true });
		const loaded = await Promise.all(
			docs.map((content, i) => loadDocument({ source: `${name}-${i}.txt`, content })),
		);
		await ingestDocuments(kb, createEmbeddings(llm), loaded, {
			chunkSize: 500,
			chunkOverlap: 0,
			embedding: { policy: new NoRetryPolicy() },
		});
	}
	const closed = `http://127.0.0.1:${await freePort()}`;
	const data: Record<string, [string, Record<string, unknown>]> = {
		chroma: ['openAgentsChromaApi', { url: chroma.url, authentication: 'none' }],
		chromaDown: ['openAgentsChromaApi', { url: closed, authentication: 'none' }],
		llm: ['openAgentsLlmApi', llm],
		store: ['openAgentsMemoryStore', redisStoreCredential(REDIS_PREFIX)],
		n8n: [
			'openAgentsN8nApi',
			{ baseUrl: `${client.connection.url}/api/v1`, apiKey: client.connection.apiKey },
		],
	};
	for (const [key, [type, values]] of Object.entries(data))
		credentials[key] = await client.upsertCredential(`e2e pickers: ${key}`, type, values);
	editor = await openEditor(client);
}, 120_000);
afterAll(async () => {
	await Promise.all([
		editor?.close(),
		chroma?.stop(),
		model.stop(),
		deleteKeys(redisFromEnv(), `${REDIS_PREFIX}:*`),
	]);
});

interface ListResult {
	results: Array<{ name: string; value: string; url?: string }>;
	paginationToken?: string;
}

/** One list search as the editor asks n8n for it (POST /rest/dynamic-node-parameters/resource-locator-results). */
function listSearch(
	node: string,
	methodName: string,
	nodeCredentials: Record<string, { id: string; name: string }>,
	filter?: string,
	currentNodeParameters: Record<string, unknown> = {},
): Promise<ListResult> {
	return client.rest('POST', '/dynamic-node-parameters/resource-locator-results', {
		nodeTypeAndVersion: { name: `${PACKAGE}.${node}`, version: 1.1 },
		path: 'parameters.picked',
		methodName,
		filter,
		currentNodeParameters,
		credentials: nodeCredentials,
	});
}

describe('list searches through n8n', () => {
	it('knowledge bases of the Chroma credential, with chunk counts, filtered', async () => {
		const all = await listSearch('openAgentsKnowledgeBase', 'searchKnowledgeBases', {
			openAgentsChromaApi: credentials.chroma,
		});
		expect(all.results).toEqual(
			expect.arrayContaining([
				{ name: `${KB_ALPHA} (1 chunk)`, value: KB_ALPHA },
				{ name: `${KB_BETA} (2 chunks)`, value: KB_BETA },
			]),
		);
		const beta = await listSearch(
			'openAgentsKnowledgeBaseTool',
			'searchKnowledgeBases',
			{ openAgentsChromaApi: credentials.chroma },
			`beta-${run}`,
		);
		expect(beta.results.map((r) => r.value)).toEqual([KB_BETA]);
	});

	it('models of the LLM API credential', async () => {
		const chat = await listSearch('openAgentsAgent', 'searchChatModels', {
			openAgentsLlmApi: credentials.llm,
		});
		expect(chat.results.map((r) => r.value)).toEqual([PICKED_CHAT_MODEL, 'offline-embedding']);
		// The Knowledge Base shows its LLM credential for Ingest, Query and Answer: the panel sends its operation.
		const embedding = await listSearch(
			'openAgentsKnowledgeBase',
			'searchEmbeddingModels',
			{ openAgentsLlmApi: credentials.llm },
			undefined,
			{ operation: 'query' },
		);
		expect(embedding.results[0]).toMatchObject({
			name: 'offline-embedding (credential default)',
			value: 'offline-embedding',
		});
	});

	it('workflows the n8n API credential sees, by part of the name, linked to the editor', async () => {
		const { id } = await client.createWorkflow({
			name: `e2e pickers: watched ${run}`,
			nodes: [],
			connections: {},
		});
		const found = await listSearch(
			'openAgentsJobMonitor',
			'searchWorkflows',
			{ openAgentsN8nApi: credentials.n8n },
			`watched ${run}`,
		);
		expect(found.results).toEqual([
			{
				name: `e2e pickers: watched ${run}`,
				value: id,
				url: `${client.connection.url}/workflow/${id}`,
			},
		]);
	});

	it('a search that fails answers with its reason, which n8n hands to the dropdown', async () => {
		await expect(
			listSearch('openAgentsKnowledgeBase', 'searchKnowledgeBases', {
				openAgentsChromaApi: credentials.chromaDown,
			}),
		).rejects.toThrow(/Could not load the list: Cannot reach Chroma/);
	});
});

const manualTrigger = {
	id: randomUUID(),
	name: 'Run',
	type: 'n8n-nodes-base.manualTrigger',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};
const emptyPick = { __rl: true, mode: 'list', value: '' };

/** A workflow of the manual trigger and one node of ours (version 1.1); returns the workflow's and the node's ids. */
async function workflowWith(name: string, node: Record<string, unknown>) {
	const nodeId = randomUUID();
	const { id } = await client.createWorkflow({
		name: `e2e pickers: ${name} ${run}`,
		nodes: [manualTrigger, { id: nodeId, typeVersion: 1.1, position: [240, 0], ...node }],
		connections: { Run: { main: [[{ node: String(node.name), type: 'main', index: 0 }]] } },
	});
	return { id, nodeId };
}

/**
 * In the open panel: opens the picker of `parameter`, types `filter` into its search, waits until the list shows only
 * matching entries, and picks `entry`. Returns the entries the search left. With OPENAGENTS_DOCS_SCREENSHOTS=1 the
 * open list is saved as docs/nodes/images/<screenshot>.
 */
async function pick(
	parameter: string,
	filter: string,
	entry: string,
	screenshot?: string,
): Promise<string[]> {
	const { page } = editor;
	await page
		.locator(`[data-test-id="resource-locator-${parameter}"] [data-test-id="rlc-input"]`)
		.click();
	await page
		.locator('[data-test-id="rlc-search"]:visible input, input[data-test-id="rlc-search"]:visible')
		.first()
		.fill(filter);
	const items = page.locator('[data-test-id="rlc-item"]:visible');
	// The list follows the search after a debounce: wait until every entry it shows matches.
	const deadline = Date.now() + 30_000;
	let shown: string[] = [];
	for (;;) {
		shown = (await items.allInnerTexts()).map((text) => text.trim());
		if (shown.length && shown.every((t) => t.toLowerCase().includes(filter.toLowerCase()))) break;
		if (Date.now() > deadline)
			throw new Error(`The ${parameter} list shows ${JSON.stringify(shown)} for "${filter}"`);
		await page.waitForTimeout(200);
	}
	if (screenshot && process.env.OPENAGENTS_DOCS_SCREENSHOTS === '1')
		await page.screenshot({ path: join(REPO_ROOT, 'docs', 'nodes', 'images', screenshot) });
	await items.filter({ hasText: entry }).first().click();
	return shown;
}

/** Runs the open node (Execute step) and returns its output items from the saved manual execution. */
async function executeStep(workflowId: string, nodeName: string) {
	const before = (await client.executions({ workflowId })).length;
	await editor.page.locator('[data-test-id="node-execute-button"]').first().click();
	const executions = await client.waitForExecutions(workflowId, before + 1);
	const execution = await client.execution(executions[0].id);
	expect([execution.status, execution.data?.resultData.error?.message]).toEqual([
		'success',
		undefined,
	]);
	return { execution, output: nodeOutput(execution, nodeName) };
}

describe('in the editor', () => {
	it('Knowledge Base Answer: picks the knowledge base, chat model and embedding model from their lists and answers from them', async () => {
		const { id, nodeId } = await workflowWith('answer', {
			name: 'Answer',
			type: `${PACKAGE}.openAgentsKnowledgeBase`,
			parameters: {
				operation: 'answer',
				knowledgeBase: emptyPick,
				question: 'How often does Beta compact its log?',
				topK: 2,
				options: { chatModel: emptyPick, embeddingModel: emptyPick },
				retryPolicy: { type: 'none' },
			},
			credentials: { openAgentsChromaApi: credentials.chroma, openAgentsLlmApi: credentials.llm },
		});
		await editor.openNode(id, nodeId);
		expect(await pick('knowledgeBase', 'picker-', KB_BETA, 'picker-knowledge-base.png')).toEqual(
			expect.arrayContaining([`${KB_ALPHA} (1 chunk)`, `${KB_BETA} (2 chunks)`]),
		);
		await pick('chatModel', 'picker', PICKED_CHAT_MODEL);
		await pick('embeddingModel', 'embed', 'offline-embedding');
		model.reset();
		const { execution, output } = await executeStep(id, 'Answer');
		expect(output[0]).toMatchObject({ found: true });
		expect((output[0].sources as string[]).every((s) => s.startsWith(KB_BETA))).toBe(true);
		expect(model.requestsTo('chat').map((r) => (r.body as { model: string }).model)).toEqual([
			PICKED_CHAT_MODEL,
		]);
		// The run used the picked value as n8n stores a resource locator.
		const { workflowData } = execution as unknown as {
			workflowData: { nodes: Array<{ name: string; parameters: Record<string, unknown> }> };
		};
		const saved = workflowData.nodes.find((n) => n.name === 'Answer')!.parameters;
		expect(saved.knowledgeBase).toMatchObject({ __rl: true, mode: 'list', value: KB_BETA });
		// The canvas names the picked knowledge base under the node.
		await editor.page.keyboard.press('Escape');
		const canvasNode = editor.page
			.locator('[data-test-id="canvas-node"][data-node-name="Answer"]')
			.locator('xpath=..');
		expect(await canvasNode.innerText()).toContain(`answer: ${KB_BETA}`);
	}, 180_000);

	it('Job Monitor Get Many: picks the workflow by name and lists its executions', async () => {
		const path = `e2e-pickers-${run}`;
		const { id: watched } = await client.createWorkflow({
			name: `e2e pickers: job source ${run}`,
			nodes: [webhookNode(path, [0, 0], { responseMode: 'onReceived' })],
			connections: {},
		});
		await client.activateWorkflow(watched, [path]);
		expect((await client.webhook(path, {})).status).toBe(200);
		await client.waitForExecutions(watched, 1);
		const { id, nodeId } = await workflowWith('jobs', {
			name: 'Jobs',
			type: `${PACKAGE}.openAgentsJobMonitor`,
			parameters: {
				resource: 'job',
				operation: 'listJobs',
				workflowId: emptyPick,
				windowMinutes: 0,
			},
			credentials: { openAgentsN8nApi: credentials.n8n },
		});
		await editor.openNode(id, nodeId);
		expect(await pick('workflowId', `job source ${run}`, `job source ${run}`)).toEqual([
			`e2e pickers: job source ${run}`,
		]);
		const { output } = await executeStep(id, 'Jobs');
		expect(output.map((job) => [job.workflowId, job.status])).toEqual([[watched, 'success']]);
	}, 180_000);

	it("Planner: picks a role's sub-workflow with n8n's workflow selector and runs the role's task there", async () => {
		const { id: subWorkflow } = await client.createWorkflow({
			name: `e2e pickers: role sub-workflow ${run}`,
			...roleSubWorkflow('={{ "sub-workflow did " + $json.task.id }}'),
		});
		const plan = {
			goal: 'One task in a sub-workflow',
			tasks: [
				{ id: 'calc', title: 'Calc', description: 'Calculate', agent: 'calculator', dependsOn: [] },
			],
		};
		const { id, nodeId } = await workflowWith('planner', {
			name: 'Planner',
			type: `${PACKAGE}.openAgentsPlanner`,
			parameters: {
				operation: 'executePlan',
				plan: JSON.stringify(plan),
				roles: { role: [{ name: 'calculator', instructions: '' }] },
				store: 'credential',
				options: { synthesize: false },
				retryPolicy: { type: 'none' },
			},
			credentials: { openAgentsLlmApi: credentials.llm, openAgentsMemoryStore: credentials.store },
		});
		await editor.openNode(id, nodeId);
		await pick('workflowId', `role sub-workflow ${run}`, `role sub-workflow ${run}`);
		type Task = { id: string; status: string; output?: string; error?: string };
		// n8n runs only active sub-workflows: until it is activated, the task fails and says why.
		const inactive = (await executeStep(id, 'Planner')).output[0].tasks as Task[];
		expect(inactive.map((t) => [t.id, t.status, t.error])).toEqual([
			['calc', 'failed', expect.stringMatching(/not active/)],
		]);
		await client.activateWorkflow(subWorkflow);
		const { output } = await executeStep(id, 'Planner');
		const tasks = output[0].tasks as Task[];
		expect(tasks.map((t) => [t.id, t.status, t.output])).toEqual([
			['calc', 'completed', 'sub-workflow did calc'],
		]);
	}, 180_000);

	it('a list that cannot be loaded shows the cause inside the dropdown; the panel stays usable', async () => {
		const { id, nodeId } = await workflowWith('chroma down', {
			name: 'Query',
			type: `${PACKAGE}.openAgentsKnowledgeBase`,
			parameters: { operation: 'query', knowledgeBase: emptyPick, query: 'anything' },
			credentials: {
				openAgentsChromaApi: credentials.chromaDown,
				openAgentsLlmApi: credentials.llm,
			},
		});
		await editor.openNode(id, nodeId);
		const { page } = editor;
		await page
			.locator('[data-test-id="resource-locator-knowledgeBase"] [data-test-id="rlc-input"]')
			.click();
		const error = page.locator('[data-test-id="rlc-error-container"]:visible');
		await error.waitFor({ timeout: 30_000 });
		expect(await error.innerText()).toMatch(/Could not load the list: Cannot reach Chroma/);
		// Still usable: By Name takes a typed name.
		await page.keyboard.press('Escape');
		await page
			.locator('[data-test-id="resource-locator-knowledgeBase"] [data-test-id="rlc-mode-selector"]')
			.click();
		await page.locator('[data-test-id="mode-name"]:visible').click();
		await page
			.locator('[data-test-id="resource-locator-knowledgeBase"] [data-test-id="rlc-input"]')
			.fill('typed-name');
		await expect(
			page
				.locator('[data-test-id="resource-locator-knowledgeBase"] [data-test-id="rlc-input"]')
				.inputValue(),
		).resolves.toBe('typed-name');
	}, 120_000);
});
