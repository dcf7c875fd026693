/** "Search knowledge base" as a LangChain tool: used by the Knowledge Base Tool sub-node and the Agent's built-in search. */
import { DynamicStructuredTool } from '@langchain/core/tools';
import type { IDataObject } from 'n8n-workflow';

import type { LlmConfig } from '../../../lib/llm';
import { chromaConnection } from '../clients/chroma';
import type { ItemSettings, NodeFunctions } from '../runtime/itemSettings';
import { retrieveForItem, type RetrievalParams } from './retriever';

export const DEFAULT_SEARCH_TOOL_DESCRIPTION =
	'Search the knowledge base. Input: a search query. Returns numbered passages with their sources; cite them as [n].';

/** Plain JSON Schema, not zod: n8n converts tool schemas with its own zod copy, which misreads another copy's schemas. */
const searchToolSchema = {
	type: 'object',
	properties: { query: { type: 'string', description: 'What to search for, in natural language' } },
	required: ['query'],
	additionalProperties: false,
} as const;

interface SearchResult {
	/** What the model reads: JSON text { results: [{ n, source, headingPath, page?, score, text }] }, or the failure. */
	text: string;
	/** The same for n8n's editor (tool call input/output). */
	json: IDataObject;
}

/**
 * A search function over the item's knowledge base (`params`: default the node's Knowledge Base, Top K, Options).
 * A failure is returned as text, not thrown, so the model sees it and can rephrase or answer without it.
 */
export async function knowledgeBaseSearcher(
	fn: NodeFunctions,
	settings: ItemSettings,
	llm: LlmConfig,
	params?: RetrievalParams,
): Promise<(query: string) => Promise<SearchResult>> {
	const connection = await chromaConnection(fn);
	return async (query) => {
		try {
			const chunks = await retrieveForItem({ fn, connection, llm }, settings, query, params);
			const results = chunks.map((c, i) => ({
				n: i + 1,
				source: c.source,
				headingPath: c.headingPath,
				...(c.page ? { page: c.page } : {}),
				score: Number(c.score.toFixed(4)),
				text: c.text,
			}));
			return {
				text: JSON.stringify({ results }),
				json: { query, results } as unknown as IDataObject,
			};
		} catch (error) {
			const message = `Knowledge base search failed: ${(error as Error).message}`;
			return { text: message, json: { query, error: message } };
		}
	};
}

/** The tool; `onCall` wraps each call (the sub-node uses it to show calls in the editor). */
export function knowledgeBaseSearchTool(
	name: string,
	description: string,
	search: (query: string) => Promise<SearchResult>,
	onCall: (query: string, run: () => Promise<SearchResult>) => Promise<SearchResult> = (_q, run) =>
		run(),
): DynamicStructuredTool {
	return new DynamicStructuredTool({
		name,
		description,
		schema: searchToolSchema,
		func: async ({ query }: { query: string }) => (await onCall(query, () => search(query))).text,
	});
}
