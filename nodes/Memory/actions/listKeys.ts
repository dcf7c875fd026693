import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import type { MemoryOperation } from './types';

const properties: INodeProperties[] = [
	{
		displayName: 'Prefix',
		name: 'prefix',
		type: 'string',
		default: '',
		description: 'Only keys starting with this text',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 1000 },
		default: 50,
		description: 'Max number of results to return',
	},
	{
		displayName: 'Cursor',
		name: 'cursor',
		type: 'string',
		default: '',
		description: 'The nextCursor of the previous page, to read the next one',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['listKeys'] } }, properties);

/** Output: { keys, nextCursor } — nextCursor is null on the last page. */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const cursor = fn.getNodeParameter('cursor', itemIndex, '') as string;
	const page = await memory.list(ns, {
		prefix: fn.getNodeParameter('prefix', itemIndex, '') as string,
		limit: fn.getNodeParameter('limit', itemIndex, 100) as number,
		cursor: cursor || undefined,
	});
	return { keys: page.keys, nextCursor: page.nextCursor ?? null };
};
