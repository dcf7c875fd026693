/**
 * The pickers' list searches against a real Chroma server and the offline model server (n8n's own path to them, the
 * editor's resource-locator endpoint, is in test/e2e/pickers.test.ts), and version 1.1 nodes reading picked values.
 */
import type { ILoadOptionsFunctions, INodeListSearchResult, INodeParameters } from 'n8n-workflow';

import { startChroma, type ChromaServer } from '../../stack/chroma';
import { OfflineModelServer } from '../../stack/model-server';
import { freePort } from '../../stack/process';
import {
	searchChatModels,
	searchEmbeddingModels,
	searchKnowledgeBases,
} from '../../nodes/shared/methods/listSearch';
import { chromaCredential, offlineLlmCredential } from '../support/credentials';
import { testNodeTypes } from '../support/test-nodes';
import { itemsInto, runWorkflow } from '../support/workflow-runner';

const API_KEY = 'sk-pickers-secret';
const model = new OfflineModelServer({ apiKey: API_KEY });
let chroma: ChromaServer;

beforeAll(async () => {
	[chroma] = await Promise.all([startChroma(), model.start()]);
}, 60_000);
afterAll(async () => {
	await Promise.all([chroma?.stop(), model.stop()]);
});
beforeEach(() => model.reset());

const llmCredential = (apiKey = API_KEY) => offlineLlmCredential(model.baseUrl, apiKey);

/** What a list search method uses of n8n's load-options context: the node's credentials and the node. */
function pickerContext(credentials: Record<string, object>): ILoadOptionsFunctions {
	return {
		getCredentials: async (type: string) => {
			if (!credentials[type]) throw new Error(`no ${type} credential`);
			return credentials[type];
		},
		getNode: () => ({
			id: 'p',
			name: 'Picker',
			type: 'n8n-nodes-openagents.openAgentsKnowledgeBase',
			typeVersion: 1.1,
			position: [0, 0],
			parameters: {},
		}),
		logger: { warn() {}, info() {}, debug() {}, error() {} },
	} as unknown as ILoadOptionsFunctions;
}

const picked = (value: string) => ({ __rl: true, mode: 'list', value, cachedResultName: value });

function runKnowledgeBase(parameters: INodeParameters, typeVersion = 1.1) {
	return runWorkflow(
		itemsInto([{}], {
			name: 'KB',
			type: 'openAgentsKnowledgeBase',
			typeVersion,
			parameters: { retryPolicy: { type: 'none' }, ...parameters },
			credentials: {
				openAgentsChromaApi: { id: '1', name: 'chroma' },
				openAgentsLlmApi: { id: '2', name: 'llm' },
			},
		}),
		{
			nodeTypes: testNodeTypes,
			credentials: {
				openAgentsChromaApi: chromaCredential(chroma.url),
				openAgentsLlmApi: llmCredential(),
			},
		},
	);
}
const firstJson = (result: Awaited<ReturnType<typeof runKnowledgeBase>>) =>
	result.outputs.KB[0][0].json as Record<string, unknown>;

async function ingest(knowledgeBase: unknown, text: string, sourceId: string) {
	const result = await runKnowledgeBase({
		operation: 'ingest',
		knowledgeBase: knowledgeBase as INodeParameters[string],
		inputType: 'text',
		text,
		sourceId,
		format: 'text',
	});
	expect(result.status).toBe('success');
	return firstJson(result);
}

// Version 1.1 Ingest: a picked knowledge base, and one named by an expression inside the locator (By Name).
beforeAll(async () => {
	await ingest(picked('pick-alpha'), 'Alpha keeps three replicas of every shard.', 'a.txt');
	await ingest(
		{ __rl: true, mode: 'name', value: '={{ "pick-" + "beta" }}' },
		'Beta compacts its log every night.',
		'b.txt',
	);
	await ingest(picked('pick-beta'), 'Beta answers reads from followers.', 'c.txt');
}, 60_000);

describe('knowledge base picker', () => {
	it('lists the credential’s knowledge bases with their chunk counts, filtered by name', async () => {
		const context = pickerContext({ openAgentsChromaApi: chromaCredential(chroma.url) });
		const all = await searchKnowledgeBases.call(context);
		const counts = await Promise.all(
			['pick-alpha', 'pick-beta'].map(
				async (name) =>
					firstJson(await runKnowledgeBase({ operation: 'stats', knowledgeBase: picked(name) }))
						.chunks,
			),
		);
		expect(counts).toEqual([1, 2]);
		expect(all.results).toEqual(
			expect.arrayContaining([
				{ name: 'pick-alpha (1 chunk)', value: 'pick-alpha' },
				{ name: 'pick-beta (2 chunks)', value: 'pick-beta' },
			]),
		);
		const filtered = await searchKnowledgeBases.call(context, 'BETA');
		expect(filtered.results.map((r) => r.value)).toEqual(['pick-beta']);
	});

	it('a version 1 node’s typed name and a version 1.1 node’s picked one reach the same knowledge base', async () => {
		const query = { operation: 'query', query: 'How many replicas?', topK: 1 };
		const v1 = await runKnowledgeBase({ ...query, knowledgeBase: 'pick-alpha' }, 1);
		const v11 = await runKnowledgeBase({ ...query, knowledgeBase: picked('pick-alpha') });
		const sourceOf = (r: typeof v1) => (firstJson(r).results as Array<{ source: string }>)[0];
		expect(sourceOf(v1)).toMatchObject({ source: 'a.txt' });
		expect(sourceOf(v11)).toEqual(sourceOf(v1));
	});

	it('fails inside the dropdown, naming Chroma, when Chroma cannot be reached', async () => {
		const context = pickerContext({
			openAgentsChromaApi: chromaCredential(`http://127.0.0.1:${await freePort()}`),
		});
		await expect(searchKnowledgeBases.call(context)).rejects.toMatchObject({
			name: 'NodeOperationError',
			message: expect.stringMatching(/^Could not load the list: Cannot reach Chroma at/),
		});
	});
});

describe('model pickers', () => {
	const names = (result: INodeListSearchResult) => result.results.map((r) => r.name);

	it('list the server’s models (GET /models), the kind asked for first, the credential’s default marked', async () => {
		const context = pickerContext({ openAgentsLlmApi: llmCredential() });
		expect(names(await searchChatModels.call(context))).toEqual([
			'offline-chat (credential default)',
			'offline-embedding',
		]);
		expect(names(await searchEmbeddingModels.call(context))).toEqual([
			'offline-embedding (credential default)',
			'offline-chat',
		]);
		expect(names(await searchEmbeddingModels.call(context, 'EMBED'))).toEqual([
			'offline-embedding (credential default)',
		]);
		expect(model.requestsTo('models').length).toBe(3);
	});

	it('say to type the name when the server lists no models, and never show the API key', async () => {
		model.fail({ type: 'status', status: 404 }, { route: 'models' });
		const context = pickerContext({ openAgentsLlmApi: llmCredential() });
		await expect(searchChatModels.call(context)).rejects.toThrow(
			/does not list its models .*choose "By Name"/,
		);
		const wrongKey = pickerContext({ openAgentsLlmApi: llmCredential('sk-wrong-secret') });
		const error = await searchChatModels.call(wrongKey).catch((e: Error) => e);
		expect(String((error as Error).message)).toMatch(/refused the API key \(401\)/);
		expect(JSON.stringify(error)).not.toContain('sk-wrong-secret');
	});

	it('a picked embedding and chat model are the ones requested', async () => {
		const result = await runKnowledgeBase({
			operation: 'answer',
			knowledgeBase: picked('pick-alpha'),
			question: 'How many replicas does Alpha keep?',
			topK: 1,
			options: {
				chatModel: picked('picked-chat'),
				embeddingModel: { __rl: true, mode: 'name', value: 'offline-embedding' },
			},
		});
		expect(result.status).toBe('success');
		const modelOf = (route: 'chat' | 'embeddings') =>
			model.requestsTo(route).map((r) => (r.body as { model: string }).model);
		expect(modelOf('chat')).toEqual(['picked-chat']);
		expect(modelOf('embeddings')).toEqual(['offline-embedding']);
	});
});
