import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import type { Fact } from '../../../lib/memory/facts';
import { factJson, subjectParameter, type FactOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 1000 },
		default: 50,
		displayOptions: { show: { returnAll: [false] } },
		description: 'Max number of results to return',
	},
	{
		displayName: 'Include History',
		name: 'includeHistory',
		type: 'boolean',
		default: false,
		description:
			'Whether to return replaced facts too (they carry supersededBy: the ID of the fact that replaced them)',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['longTermMemory'], operation: ['listFacts'] } },
	properties,
);

/** Output: one item per fact of the subject, in ID order; no item when it has none. */
export const execute: FactOperation = async ({ fn }, { facts, itemIndex }) => {
	const subject = subjectParameter(fn, itemIndex);
	const returnAll = fn.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = returnAll ? Infinity : (fn.getNodeParameter('limit', itemIndex, 50) as number);
	const includeHistory = fn.getNodeParameter('includeHistory', itemIndex, false) as boolean;
	const found: Fact[] = [];
	let cursor: string | undefined;
	do {
		const page = await facts.list(subject, {
			limit: Math.min(1000, limit - found.length),
			cursor,
			includeHistory,
		});
		found.push(...page.facts);
		cursor = page.nextCursor;
	} while (cursor && found.length < limit);
	return found.slice(0, limit).map(factJson);
};
