/** Per-item retrieval from a knowledge base: Knowledge Base Query and Answer, the Knowledge Base Tool, the Agent's built-in search. */
import type { IDataObject, IExecuteFunctions, ISupplyDataFunctions } from 'n8n-workflow';

import { createEmbeddings, type LlmConfig } from '../../lib/llm';
import { retrieve, type ChromaConnection, type RetrievedChunk } from '../../lib/rag';
import { chromaStore } from './chroma';
import { toRetrievalOptions } from './knowledgeBaseFields';
import { llmCallOptions } from './llm';

type Fn = IExecuteFunctions | ISupplyDataFunctions;

/** Which knowledge base to search, and how: by default the item's Knowledge Base, Top K and Options parameters. */
export interface RetrievalParams {
	knowledgeBase: string;
	topK: number;
	options: IDataObject;
}

export function retrievalParamsOf(fn: Fn, itemIndex: number): RetrievalParams {
	return {
		knowledgeBase: fn.getNodeParameter('knowledgeBase', itemIndex) as string,
		topK: fn.getNodeParameter('topK', itemIndex, 4) as number,
		options: fn.getNodeParameter('options', itemIndex, {}) as IDataObject,
	};
}

/** What retrieval needs besides the item: the node's context, its Chroma connection and LLM credential (for embeddings). */
export interface RetrievalContext {
	fn: Fn;
	connection: ChromaConnection;
	llm: LlmConfig;
}

/** Chunks for `query`, best first, under the item's Retry Policy; throws RagError (e.g. UNKNOWN_KNOWLEDGE_BASE). */
export async function retrieveForItem(
	{ fn, connection, llm }: RetrievalContext,
	itemIndex: number,
	query: string,
	{ knowledgeBase, topK, options }: RetrievalParams = retrievalParamsOf(fn, itemIndex),
): Promise<RetrievedChunk[]> {
	const kb = await chromaStore(fn, connection, itemIndex).open(knowledgeBase);
	const embeddings = createEmbeddings(llm, {
		model: (options.embeddingModel as string) || undefined,
	});
	return retrieve(kb, embeddings, query, {
		...toRetrievalOptions(topK, options),
		embedding: llmCallOptions(fn, itemIndex, llm),
	});
}
