import type { IDataObject, IExecuteFunctions, INodeProperties, ISupplyDataFunctions } from 'n8n-workflow';

import { createEmbeddings } from '../../../lib/llm';
import { retrieve, type RetrievedChunk } from '../../../lib/rag';
import { llmCallOptions } from '../../shared/llm';
import { chromaStore } from '../transport/chroma';
import { retrievalOptions, toRetrievalOptions, topKField } from '../fields';
import type { ItemOperation, RunContext } from './types';

const show = { show: { operation: ['query'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Query',
		name: 'query',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. How do I set a connection timeout?',
		description: 'Text to search for; chunks are ranked by cosine similarity of their embeddings',
		displayOptions: show,
	},
	{ ...topKField, displayOptions: show },
	{ displayName: 'Options', name: 'options', type: 'collection', placeholder: 'Add Option', default: {}, options: retrievalOptions, displayOptions: show },
];

/** Which knowledge base to search, and how: by default the item's Knowledge Base, Top K and Options parameters. */
export interface RetrievalParams {
	knowledgeBase: string;
	topK: number;
	options: IDataObject;
}

type Fn = IExecuteFunctions | ISupplyDataFunctions;

export function retrievalParamsOf(fn: Fn, itemIndex: number): RetrievalParams {
	return {
		knowledgeBase: fn.getNodeParameter('knowledgeBase', itemIndex) as string,
		topK: fn.getNodeParameter('topK', itemIndex, 4) as number,
		options: fn.getNodeParameter('options', itemIndex, {}) as IDataObject,
	};
}

/** Chunks for `query` (Query, Answer, the tool sub-node and the Agent's built-in search). */
export async function retrieveForItem(
	{ fn, connection, llm }: Pick<RunContext, 'connection' | 'llm'> & { fn: Fn },
	itemIndex: number,
	query: string,
	{ knowledgeBase, topK, options }: RetrievalParams = retrievalParamsOf(fn, itemIndex),
): Promise<RetrievedChunk[]> {
	const kb = await chromaStore(fn, connection, itemIndex).open(knowledgeBase);
	const embeddings = createEmbeddings(llm!, { model: (options.embeddingModel as string) || undefined });
	return retrieve(kb, embeddings, query, {
		...toRetrievalOptions(topK, options),
		embedding: llmCallOptions(fn, itemIndex, llm!),
	});
}

/** Output: { query, results: [{ text, source, chunkIndex, start, end, headingPath, page?, score, metadata }] }, best first. */
export const execute: ItemOperation = async (run, itemIndex) => {
	const query = run.fn.getNodeParameter('query', itemIndex) as string;
	const results = await retrieveForItem(run, itemIndex, query);
	return { query, results: results.map(({ id: _id, ...chunk }) => chunk) as unknown as IDataObject[] };
};
