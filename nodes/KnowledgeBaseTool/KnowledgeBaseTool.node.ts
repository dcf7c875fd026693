import { DynamicStructuredTool } from '@langchain/core/tools';
import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type ISupplyDataFunctions,
	type SupplyData,
} from 'n8n-workflow';

import { retrieveForItem } from '../KnowledgeBase/actions/query';
import { knowledgeBaseField, retrievalOptions, topKField } from '../KnowledgeBase/fields';
import { chromaConnection } from '../KnowledgeBase/transport/chroma';
import { llmConfigFromCredential } from '../shared/llm';
import { retryPolicyProperty } from '../shared/retryPolicy';

/**
 * "Search knowledge base" for AI agents (n8n's AI Agent or ours): the agent calls it with a query and gets the
 * top-k chunks as numbered passages with their sources, ready to cite.
 */
export class KnowledgeBaseTool implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Knowledge Base Tool',
		name: 'openAgentsKnowledgeBaseTool',
		icon: { light: 'file:../../icons/openagents.svg', dark: 'file:../../icons/openagents.dark.svg' },
		group: ['transform'],
		version: [1],
		subtitle: '={{ "search: " + $parameter["knowledgeBase"] }}',
		description: 'Lets an AI agent search a knowledge base (ChromaDB) and cite what it finds',
		defaults: { name: 'Knowledge Base Tool' },
		codex: { categories: ['AI'], subcategories: { AI: ['Tools'] } },
		inputs: [],
		outputs: [NodeConnectionTypes.AiTool],
		outputNames: ['Tool'],
		credentials: [
			{ name: 'openAgentsChromaApi', required: true },
			{ name: 'openAgentsLlmApi', required: true },
		],
		properties: [
			knowledgeBaseField,
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
				default: 'Search the knowledge base. Input: a search query. Returns numbered passages with their sources; cite them as [n].',
				description: 'Tells the model when to use the tool; name what the knowledge base contains',
			},
			topKField,
			{ displayName: 'Options', name: 'options', type: 'collection', placeholder: 'Add Option', default: {}, options: retrievalOptions },
			retryPolicyProperty,
		],
	};

	/** For n8n's AI Agent: a LangChain tool; each call is shown in the editor as this node's input and output. */
	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const search = await searcher(this, itemIndex);
		const tool = new DynamicStructuredTool({
			name: (this.getNodeParameter('toolName', itemIndex) as string).trim(),
			description: this.getNodeParameter('toolDescription', itemIndex) as string,
			// Plain JSON Schema, not zod: n8n converts tool schemas with its own zod copy, which misreads another copy's schemas.
			schema: {
				type: 'object',
				properties: { query: { type: 'string', description: 'What to search for, in natural language' } },
				required: ['query'],
				additionalProperties: false,
			},
			func: async ({ query }: { query: string }) => {
				const { index } = this.addInputData(NodeConnectionTypes.AiTool, [[{ json: { query } }]]);
				const result = await search(query);
				this.addOutputData(NodeConnectionTypes.AiTool, index, [[{ json: result.json }]]);
				return result.text;
			},
		});
		return { response: tool };
	}

	/** n8n 2.x agents run a tool call as an execution of the tool node: each item is one call's arguments ({ query }). */
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const search = await searcher(this, 0);
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const result = await search(String(items[itemIndex].json.query ?? ''));
			out.push({ json: { response: result.text }, pairedItem: { item: itemIndex } });
		}
		return [out];
	}
}

/**
 * The search the tool runs: top-k chunks as numbered passages ({ results: [{ n, source, headingPath, page?, score, text }] }
 * as JSON text). A failure is returned as text, not thrown, so the model sees it and can rephrase or answer without it.
 */
async function searcher(fn: IExecuteFunctions | ISupplyDataFunctions, itemIndex: number) {
	const connection = await chromaConnection(fn);
	const llm = await llmConfigFromCredential(fn);
	return async (query: string): Promise<{ text: string; json: IDataObject }> => {
		try {
			const chunks = await retrieveForItem({ fn, connection, llm }, itemIndex, query);
			const results = chunks.map((c, i) => ({ n: i + 1, source: c.source, headingPath: c.headingPath, ...(c.page ? { page: c.page } : {}), score: Number(c.score.toFixed(4)), text: c.text }));
			return { text: JSON.stringify({ results }), json: { query, results } as unknown as IDataObject };
		} catch (error) {
			const message = `Knowledge base search failed: ${(error as Error).message}`;
			return { text: message, json: { query, error: message } };
		}
	};
}
