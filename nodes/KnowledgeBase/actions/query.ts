import { updateDisplayOptions, type IDataObject, type INodeProperties } from 'n8n-workflow';

import { retrievalFields } from '../../shared/fields/knowledgeBase';
import { retrieveForItem } from '../../shared/ai/retriever';
import type { KnowledgeBaseOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Query',
		name: 'query',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. How do I set a connection timeout?',
		description: 'What to search for: words, names or a question',
	},
	...retrievalFields(),
];

export const description = updateDisplayOptions({ show: { operation: ['query'] } }, properties);

/**
 * Output: { query, results: [{ text, source, chunkIndex, start, end, headingPath, page?, score, vectorScore?,
 * keywordScore?, rerankScore?, metadata }] }, best first (`score` is the one the chunks are ranked by).
 */
export const execute: KnowledgeBaseOperation = async (run, settings) => {
	const { itemIndex } = settings;
	const query = run.fn.getNodeParameter('query', itemIndex) as string;
	const results = await retrieveForItem(
		{ ...run, llm: run.llm!, usage: settings.usage },
		settings,
		query,
	);
	return {
		query,
		results: results.map(({ id: _id, ...chunk }) => chunk) as unknown as IDataObject[],
	};
};
