import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import { keyField, ttlField } from '../../shared/fields/memory';
import { jsonParameter, ttlMs, type MemoryOperation } from './types';

const properties: INodeProperties[] = [
	{ ...keyField },
	{
		displayName: 'Item (JSON)',
		name: 'item',
		type: 'json',
		default: '{}',
		description: 'The JSON value to add to the end of the list',
	},
	{ ...ttlField },
];

export const description = updateDisplayOptions({ show: { operation: ['append'] } }, properties);

/** Atomic across workers. Output: { key, length, version }. A missing key counts as an empty list. */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	return {
		key,
		...(await memory.append(ns, key, [jsonParameter(fn, 'item', itemIndex)], ttlMs(fn, itemIndex))),
	};
};
