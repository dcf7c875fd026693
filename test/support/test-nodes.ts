/** Node types used only by tests of the in-process runner. */
import { retryPolicyProperty } from '../../nodes/shared/fields/retryPolicy';
import { getRetryPolicy } from '../../nodes/shared/runtime/itemSettings';
import { withRetry, RetryExhaustedError } from '../../lib/retry';
import { createChatModel } from '../../lib/llm';
import { DynamicStructuredTool } from '@langchain/core/tools';
import {
	NodeApiError,
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type ISupplyDataFunctions,
	type JsonObject,
	type SupplyData,
} from 'n8n-workflow';

/**
 * Emits the items given in its `items` parameter (a JSON array of objects); the start node of test workflows.
 * An item's `$binary` field ({ property: { base64, mimeType, fileName, directory? } }) becomes its binary data.
 */
export class TestItems implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Items',
		name: 'testItems',
		group: ['input'],
		version: 1,
		description: 'Emits fixed items',
		defaults: { name: 'Test Items' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Items', name: 'items', type: 'json', default: '[]' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as string | object[];
		const items = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<
			Record<string, unknown>
		>;
		return [
			items.map(({ $binary, ...json }) => {
				const files = ($binary ?? {}) as Record<
					string,
					{ base64: string; mimeType: string; fileName?: string; directory?: string }
				>;
				const binary = Object.fromEntries(
					Object.entries(files).map(([property, file]) => [
						property,
						{
							data: file.base64,
							mimeType: file.mimeType,
							fileName: file.fileName,
							...(file.directory ? { directory: file.directory } : {}),
							bytes: Buffer.from(file.base64, 'base64').length,
						},
					]),
				);
				return { json: json as never, ...(Object.keys(binary).length ? { binary } : {}) };
			}),
		];
	}
}

/**
 * Lists the models of the OpenAgents LLM API credential, per item, through n8n's authenticated request helper,
 * retried under the node's Retry Policy option.
 */
export class TestListModels implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test List Models',
		name: 'testListModels',
		group: ['transform'],
		version: 1,
		description: 'GET /models with the OpenAgents LLM API credential',
		defaults: { name: 'Test List Models' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'openAgentsLlmApi', required: true }],
		properties: [retryPolicyProperty],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const { baseUrl } = await this.getCredentials<{ baseUrl: string }>('openAgentsLlmApi');
		const out: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < this.getInputData().length; itemIndex++) {
			try {
				const policy = getRetryPolicy(this, itemIndex);
				let attempts = 0;
				const body = await withRetry(
					() => (
						attempts++,
						this.helpers.httpRequestWithAuthentication.call(this, 'openAgentsLlmApi', {
							url: `${baseUrl}/models`,
							json: true,
						})
					),
					policy,
					{ signal: this.getExecutionCancelSignal() },
				);
				out.push({
					json: {
						models: body.data.map((m: { id: string }) => m.id),
						attempts,
						retryPolicy: policy.toJSON(),
					},
					pairedItem: { item: itemIndex },
				});
			} catch (error) {
				const last = error instanceof RetryExhaustedError ? error.lastError : error;
				if (!this.continueOnFail()) {
					if ((error as Error).name === 'NodeOperationError') throw error;
					throw new NodeApiError(this.getNode(), last as JsonObject, { itemIndex });
				}
				out.push({ json: { error: (error as Error).message }, pairedItem: { item: itemIndex } });
			}
		}
		return [out];
	}
}

/** Calls made to Test Tool nodes, in order: "<tool name>:<JSON input>". Tests reset it. */
export const testToolCalls: string[] = [];

/**
 * A tool sub-node: `behaviour` echo (returns "<name> got <input>"), failOnce (throws on its first call of a
 * workflow run, then echoes) or fail (always throws). Each call is recorded in testToolCalls.
 */
export class TestTool implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Tool',
		name: 'testTool',
		group: ['transform'],
		version: 1,
		description: 'A scripted tool for agent tests',
		defaults: { name: 'Test Tool' },
		inputs: [],
		outputs: [NodeConnectionTypes.AiTool],
		properties: [
			{ displayName: 'Tool Name', name: 'toolName', type: 'string', default: 'lookup' },
			{ displayName: 'Behaviour', name: 'behaviour', type: 'string', default: 'echo' },
		],
	};

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const name = this.getNodeParameter('toolName', itemIndex) as string;
		const behaviour = this.getNodeParameter('behaviour', itemIndex) as string;
		let calls = 0;
		const tool = new DynamicStructuredTool({
			name,
			description: `Looks things up (${behaviour})`,
			schema: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] },
			func: async ({ input }: { input: string }) => {
				testToolCalls.push(`${name}:${input}`);
				calls++;
				if (behaviour === 'fail' || (behaviour === 'failOnce' && calls === 1))
					throw new Error(`${name} backend unavailable (call ${calls})`);
				return `${name} got ${input}`;
			},
		});
		return { response: tool };
	}
}

/**
 * A reranker sub-node as n8n's own supply them (a LangChain document compressor): keeps the documents containing
 * the word in its Prefer parameter, that word's documents first, each with metadata.relevanceScore. Its calls are
 * counted in testRerankerCalls.
 */
export const testRerankerCalls: Array<{ query: string; documents: number }> = [];

export class TestReranker implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Reranker',
		name: 'testReranker',
		group: ['transform'],
		version: 1,
		description: 'A scripted reranker',
		defaults: { name: 'Test Reranker' },
		inputs: [],
		outputs: [NodeConnectionTypes.AiReranker],
		properties: [{ displayName: 'Prefer', name: 'prefer', type: 'string', default: '' }],
	};

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const prefer = (this.getNodeParameter('prefer', itemIndex) as string).toLowerCase();
		type Document = { pageContent: string; metadata: Record<string, unknown> };
		const compressor = {
			compressDocuments: async (documents: Document[], query: string) => {
				testRerankerCalls.push({ query, documents: documents.length });
				const score = (d: Document) => (d.pageContent.toLowerCase().includes(prefer) ? 1 : 0.5);
				return [...documents]
					.sort((a, b) => score(b) - score(a))
					.map((d) => ({ ...d, metadata: { ...d.metadata, relevanceScore: score(d) } }));
			},
		};
		return { response: compressor };
	}
}

/** A chat model sub-node: LangChain's ChatOpenAI for `model` on the OpenAI-compatible server at `baseUrl`. */
export class TestChatModel implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Chat Model',
		name: 'testChatModel',
		group: ['transform'],
		version: 1,
		description: 'A chat model on a given server',
		defaults: { name: 'Test Chat Model' },
		inputs: [],
		outputs: [NodeConnectionTypes.AiLanguageModel],
		properties: [
			{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '' },
			{ displayName: 'Model', name: 'model', type: 'string', default: '' },
		],
	};

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const model = this.getNodeParameter('model', itemIndex) as string;
		const baseUrl = this.getNodeParameter('baseUrl', itemIndex) as string;
		return {
			response: createChatModel({ baseUrl, apiKey: '', chatModel: model, embeddingModel: '' }),
		};
	}
}

export const testNodeTypes = {
	'test.chatModel': new TestChatModel(),
	'test.reranker': new TestReranker(),
	'test.tool': new TestTool(),
	'test.items': new TestItems(),
	'test.listModels': new TestListModels(),
};
