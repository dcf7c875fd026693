/**
 * The Knowledge Base in real queue-mode n8n (main + 2 workers) on a real Chroma server: a workflow reads the Markdown
 * READMEs of this project's npm dependencies (hundreds of files nobody here wrote) with n8n's Read Files from Disk
 * node and ingests them; another answers a question whose answer is in one of them, citing that file. Re-running the
 * ingest reports every chunk unchanged and makes no embedding call. n8n's AI Agent uses the Knowledge Base Tool.
 */
import { globSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer, offlineModelConfig } from '../../stack/model-server';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { REPO_ROOT } from '../../stack/n8n/community-package';
import {
	aiAgentNode,
	openAiChatModelNode,
	webhookNode,
	whereNode,
} from '../../stack/n8n/workflow-nodes';

const { client } = clusterFromEnv();
const model = new OfflineModelServer();
let chroma: ChromaServer;
let credentials: { chroma: { id: string; name: string }; llm: { id: string; name: string } };

const README_GLOB = '{*,@*/*}/README.md';
const knowledgeBase = `npm-readmes-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
	[chroma] = await Promise.all([startChroma(), model.start()]);
	const [chromaCredential, llmCredential] = await Promise.all([
		client.createCredential('e2e chroma', 'openAgentsChromaApi', {
			url: chroma.url,
			authentication: 'none',
			tenant: 'default_tenant',
			database: 'default_database',
		}),
		client.createCredential('e2e offline model', 'openAgentsLlmApi', offlineModelConfig(model)),
	]);
	credentials = { chroma: chromaCredential, llm: llmCredential };
}, 60_000);
afterAll(async () => {
	await Promise.all([chroma?.stop(), model.stop()]);
});

function kbNode(
	parameters: Record<string, unknown>,
	position: [number, number],
	name = 'Knowledge Base',
) {
	return {
		id: randomUUID(),
		name,
		type: 'n8n-nodes-openagents.openAgentsKnowledgeBase',
		typeVersion: 1,
		position,
		parameters: { knowledgeBase, ...parameters },
		credentials: { openAgentsChromaApi: credentials.chroma, openAgentsLlmApi: credentials.llm },
	};
}

/** Webhook → nodes in a chain; the webhook answers with every item of the last node. */
async function webhookWorkflow(
	name: string,
	nodes: Array<{ name: string } & Record<string, unknown>>,
): Promise<string> {
	const path = `e2e-kb-${randomUUID()}`;
	const webhook = {
		...webhookNode(path),
		parameters: {
			httpMethod: 'POST',
			path,
			responseMode: 'lastNode',
			responseData: 'allEntries',
			options: {},
		},
	};
	const chain = [webhook, ...nodes];
	const connections = Object.fromEntries(
		chain
			.slice(0, -1)
			.map((node, i) => [
				node.name,
				{ main: [[{ node: chain[i + 1].name, type: 'main', index: 0 }]] },
			]),
	);
	const { id } = await client.createWorkflow({ name, nodes: chain, connections });
	await client.activateWorkflow(id, [path]);
	return path;
}

/** Calls a webhook workflow; on failure the assertion shows the error n8n recorded for the newest execution. */
async function call<T>(path: string, body: object = {}): Promise<T> {
	const res = await client.webhook(path, body);
	const text = await res.text();
	if (res.status !== 200) {
		const [latest] = await client.executions({ limit: 1, includeData: true });
		const nodeErrors = Object.entries(latest?.data?.resultData.runData ?? {}).flatMap(
			([node, runs]) => runs.filter((r) => r.error).map((r) => `${node}: ${r.error!.message}`),
		);
		expect({
			status: res.status,
			text,
			error: latest?.data?.resultData.error?.message,
			nodeErrors,
		}).toEqual({ status: 200 });
	}
	return JSON.parse(text) as T;
}

interface IngestItem {
	source: string;
	chunks: number;
	added: number;
	unchanged: number;
	removed: number;
	batch: { embeddingCalls: number };
	error?: string;
}

describe('Knowledge Base in queue-mode n8n', () => {
	let ingestPath: string;
	let firstRun: IngestItem[];
	const readmes = globSync(README_GLOB, { cwd: join(REPO_ROOT, 'node_modules') });

	it('ingests the READMEs of our npm dependencies, read from disk by n8n', async () => {
		expect(readmes.length).toBeGreaterThan(200);
		ingestPath = await webhookWorkflow('e2e: ingest npm READMEs', [
			{
				id: randomUUID(),
				name: 'Read READMEs',
				type: 'n8n-nodes-base.readWriteFile',
				typeVersion: 1.1,
				position: [220, 0],
				parameters: {
					operation: 'read',
					fileSelector: join(REPO_ROOT, 'node_modules', README_GLOB),
					options: {},
				},
			},
			kbNode(
				{
					operation: 'ingest',
					inputType: 'binary',
					binaryPropertyName: 'data',
					// e.g. "ioredis/README.md": unique per package, unlike the file name.
					sourceId:
						'={{ $binary.data.directory.split("node_modules/").pop() + "/" + $binary.data.fileName }}',
					format: 'markdown',
					options: {},
				},
				[440, 0],
			),
		]);
		model.reset();
		firstRun = await call<IngestItem[]>(ingestPath);
		expect(firstRun).toHaveLength(readmes.length);
		const failed = firstRun.filter((item) => item.error);
		expect(failed).toEqual([]);
		expect(new Set(firstRun.map((item) => item.source))).toEqual(new Set(readmes));
		const chunks = firstRun.reduce((n, item) => n + item.chunks, 0);
		expect(chunks).toBeGreaterThan(1000);
		expect(firstRun.reduce((n, item) => n + item.added, 0)).toBe(chunks);
		expect(model.requestsTo('embeddings').length).toBeGreaterThan(0);
	}, 600_000);

	it('re-running the ingest finds every chunk unchanged and makes no embedding call', async () => {
		model.reset();
		const again = await call<IngestItem[]>(ingestPath);
		expect(again).toHaveLength(firstRun.length);
		expect(again.reduce((n, item) => n + item.added + item.removed, 0)).toBe(0);
		expect(again.reduce((n, item) => n + item.unchanged, 0)).toBe(
			firstRun.reduce((n, item) => n + item.chunks, 0),
		);
		expect(again.every((item) => item.batch.embeddingCalls === 0)).toBe(true);
		expect(model.requestsTo('embeddings')).toHaveLength(0);
	}, 600_000);

	it('answers a question from the one README that holds the answer, citing that file', async () => {
		const answerPath = await webhookWorkflow('e2e: answer from npm READMEs', [
			kbNode(
				{ operation: 'answer', question: '={{ $json.body.question }}', topK: 4, options: {} },
				[220, 0],
			),
		]);
		const [answer] = await call<
			Array<{
				answer: string;
				found: boolean;
				sources: string[];
				citations: Array<{ n: number; source: string; text: string }>;
			}>
		>(answerPath, {
			question:
				'After how many retry attempts are pending commands flushed with an error when the Redis connection is down?',
		});
		expect(answer.found).toBe(true);
		const cited = answer.citations.find((c) =>
			c.text.includes('flushed with an error every 20 retry attempts'),
		);
		expect(cited?.source).toBe('ioredis/README.md');
		expect(answer.answer).toContain(`every 20 retry attempts [${cited!.n}]`);
	}, 120_000);

	it('keyword search finds an exact option name on every worker, and no longer finds a removed source', async () => {
		const queryPath = await webhookWorkflow('e2e: keyword search', [
			kbNode(
				{
					operation: 'query',
					searchMode: 'keyword',
					query: '={{ $json.body.query }}',
					topK: 3,
					options: {},
				},
				[220, 0],
			),
			whereNode([440, 0], true),
		]);
		type Found = { results: Array<{ source: string; keywordScore: number }>; processName: string };
		// Queries go to whichever worker takes the job: send them in rounds until both workers answered.
		const answers: Found[] = [];
		for (let round = 0; round < 5 && new Set(answers.map((a) => a.processName)).size < 2; round++) {
			answers.push(
				...(await Promise.all(
					Array.from({ length: 6 }, () =>
						call<Found[]>(queryPath, { query: 'maxRetriesPerRequest' }).then(([a]) => a),
					),
				)),
			);
		}
		expect(new Set(answers.map((a) => a.processName))).toEqual(new Set(['worker-1', 'worker-2']));
		for (const answer of answers)
			expect(answer.results[0]).toMatchObject({
				source: 'ioredis/README.md',
				keywordScore: expect.any(Number),
			});

		const deletePath = await webhookWorkflow('e2e: delete a source', [
			kbNode(
				{ operation: 'delete', deleteBy: 'source', sourceIds: '={{ $json.body.source }}' },
				[220, 0],
			),
		]);
		await call(deletePath, { source: 'ioredis/README.md' });
		const after = await Promise.all(
			Array.from({ length: 6 }, () =>
				call<Found[]>(queryPath, { query: 'maxRetriesPerRequest' }).then(([a]) => a),
			),
		);
		for (const answer of after)
			expect(answer.results.map((r) => r.source)).not.toContain('ioredis/README.md');
		// Put it back for the tests below (re-ingesting embeds only its chunks).
		await call(ingestPath);
	}, 180_000);

	it("n8n's AI Agent searches the knowledge base through the Knowledge Base Tool and cites what it found", async () => {
		const openAi = await client.createCredential('e2e offline model (OpenAI API)', 'openAiApi', {
			apiKey: 'sk-offline',
			url: model.baseUrl,
		});
		const path = `e2e-kb-agent-${randomUUID()}`;
		const { id } = await client.createWorkflow({
			name: 'e2e: n8n AI Agent with the Knowledge Base Tool',
			nodes: [
				webhookNode(path),
				aiAgentNode('={{ $json.body.question }}'),
				whereNode([440, 0], true),
				openAiChatModelNode(openAi),
				{
					id: randomUUID(),
					name: 'Search READMEs',
					type: 'n8n-nodes-openagents.openAgentsKnowledgeBaseTool',
					typeVersion: 1,
					position: [360, 200],
					parameters: { knowledgeBase, toolName: 'search_knowledge_base', topK: 3, options: {} },
					credentials: {
						openAgentsChromaApi: credentials.chroma,
						openAgentsLlmApi: credentials.llm,
					},
				},
			],
			connections: {
				Webhook: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
				'AI Agent': { main: [[{ node: 'Where', type: 'main', index: 0 }]] },
				'Chat Model': {
					ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]],
				},
				'Search READMEs': { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
			},
		});
		await client.activateWorkflow(id, [path]);
		model.reset();
		const reply = await call<{ output: string; processName: string }>(path, {
			question:
				'After how many retry attempts are pending commands flushed with an error when the Redis connection is down?',
		});
		expect(reply.processName).toMatch(/^worker-/);
		expect(reply.output).toMatch(/every 20 retry attempts \[\d\]/);
		expect(reply.output).toContain('ioredis/README.md');
		const [toolCall, final] = model.requestsTo('chat');
		expect(JSON.stringify(toolCall.body)).toContain('search_knowledge_base');
		expect(JSON.stringify(final.body)).toContain('ioredis/README.md');
	}, 120_000);
});
