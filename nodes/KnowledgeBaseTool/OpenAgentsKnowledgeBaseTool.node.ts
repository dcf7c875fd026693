import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type ISupplyDataFunctions,
	type SupplyData,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsKnowledgeBaseTool.node.json';
import {
	knowledgeBaseFields,
	RERANKER_INPUT,
	retrievalFields,
} from '../shared/fields/knowledgeBase';
import { llmApiCredentialTest, llmConfigFromCredential } from '../shared/clients/llmApi';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';
import { operationSpan, runItems } from '../shared/runtime/itemLoop';
import { readItemSettings } from '../shared/runtime/itemSettings';
import { recordCall } from '../shared/runtime/runData';
import { searchKnowledgeBases, searchEmbeddingModels } from '../shared/methods/listSearch';
import { KNOWLEDGE_BASE_IN_SUBTITLE, PICKER_NODE_VERSIONS } from '../shared/fields/locators';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';
import {
	DEFAULT_SEARCH_TOOL_DESCRIPTION,
	knowledgeBaseSearcher,
	knowledgeBaseSearchTool,
} from '../shared/ai/searchTool';

/**
 * "Search knowledge base" for AI agents (n8n's AI Agent or ours): the agent calls it with a query and gets the
 * top-k chunks as numbered passages with their sources, ready to cite.
 */
// Not usableAsTool: it is a tool sub-node (output ai_tool); see scripts/n8n-rule-exceptions.json.
export class OpenAgentsKnowledgeBaseTool implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Knowledge Base Tool',
		name: 'openAgentsKnowledgeBaseTool',
		icon: { light: 'file:knowledgeBaseTool.svg', dark: 'file:knowledgeBaseTool.dark.svg' },
		group: ['transform'],
		version: PICKER_NODE_VERSIONS,
		subtitle: `={{ "search: " + ${KNOWLEDGE_BASE_IN_SUBTITLE} }}`,
		description: 'Lets an AI agent search a knowledge base (ChromaDB) and cite what it finds',
		defaults: { name: 'Knowledge Base Tool' },
		codex: nodeCodex(codex),
		// A reranker sub-node when Rerank Results asks for one.
		inputs: `={{ $parameter.reranker === 'subNode' ? [${RERANKER_INPUT}] : [] }}`,
		outputs: [NodeConnectionTypes.AiTool],
		outputNames: ['Tool'],
		credentials: [
			{ name: 'openAgentsChromaApi', displayName: 'Chroma', required: true },
			{
				name: 'openAgentsLlmApi',
				displayName: 'LLM API (Embeddings)',
				required: true,
				testedBy: 'openAgentsLlmApiTest',
			},
			{
				name: 'openAgentsMemoryStore',
				displayName: 'Memory Store (Shared Keyword Index)',
				required: true,
				testedBy: 'openAgentsMemoryStoreTest',
				displayOptions: { show: { keywordIndex: ['redis'] } },
			},
		],
		properties: [
			...knowledgeBaseFields,
			{
				displayName: 'Tool Name',
				name: 'toolName',
				type: 'string',
				default: 'search_knowledge_base',
				required: true,
				description: 'The name the model calls the tool by: letters, digits, "_" and "-"',
			},
			{
				displayName: 'Description',
				name: 'toolDescription',
				type: 'string',
				typeOptions: { rows: 2 },
				default: DEFAULT_SEARCH_TOOL_DESCRIPTION,
				description: 'Tells the model when to use the tool; name what the knowledge base contains',
			},
			...retrievalFields(),
			retryPolicyProperty,
		],
	};

	methods = {
		credentialTest: {
			openAgentsLlmApiTest: llmApiCredentialTest,
			openAgentsMemoryStoreTest: memoryStoreCredentialTest,
		},
		listSearch: { searchKnowledgeBases, searchEmbeddingModels },
	};

	/** For n8n's AI Agent: a LangChain tool; each call is shown in the editor as this node's input and output. */
	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const search = await knowledgeBaseSearcher(
			this,
			readItemSettings(this, itemIndex),
			await llmConfigFromCredential(this),
		);
		const tool = knowledgeBaseSearchTool(
			(this.getNodeParameter('toolName', itemIndex) as string).trim(),
			this.getNodeParameter('toolDescription', itemIndex) as string,
			search,
			(query, run) =>
				recordCall(this, NodeConnectionTypes.AiTool, { query }, run, (result) => result.json),
		);
		return { response: tool };
	}

	/**
	 * n8n 2.x agents run a tool call as an execution of the tool node: each item is one call's arguments ({ query });
	 * its output { response } is the text the model reads (a failed search is that text too, see knowledgeBaseSearcher).
	 */
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const llm = await llmConfigFromCredential(this);
		return runItems(this, {
			errors: { hints: {}, fallback: 'The knowledge base search failed.' },
			span: () => operationSpan(this, 'search'),
			settings: (itemIndex) => readItemSettings(this, itemIndex),
			run: async (settings) => {
				const search = await knowledgeBaseSearcher(this, settings, llm);
				const query = String(this.getInputData()[settings.itemIndex].json.query ?? '');
				return { response: (await search(query)).text };
			},
		});
	}
}
