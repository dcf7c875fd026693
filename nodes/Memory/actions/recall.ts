import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import type { FactMetadata } from '../../../lib/memory/facts';
import { factJson, jsonParameter, subjectParameter, type FactOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Query',
		name: 'query',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. {{ $json.chatInput }}',
		description: 'What the facts are needed for: a question or the user’s message',
	},
	{
		displayName: 'Top K',
		name: 'topK',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100 },
		default: 5,
		description: 'Max number of facts to return',
	},
	{
		displayName: 'Metadata Filter',
		name: 'metadataFilter',
		type: 'json',
		default: '{}',
		description: 'Only facts whose metadata has every one of these keys with exactly these values',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['longTermMemory'], operation: ['recall'] } },
	properties,
);

/**
 * Output: one item per recalled fact, best first: { id, subject, text, metadata, score, createdAt, confirmedAt,
 * provenance, supersedes? }; no item when nothing matches.
 */
export const execute: FactOperation = async ({ fn }, { facts, itemIndex }) => {
	const recalled = await facts.recall({
		subject: subjectParameter(fn, itemIndex),
		query: fn.getNodeParameter('query', itemIndex) as string,
		topK: fn.getNodeParameter('topK', itemIndex, 5) as number,
		metadata: jsonParameter(fn, 'metadataFilter', itemIndex) as FactMetadata,
	});
	return recalled.map(factJson);
};
