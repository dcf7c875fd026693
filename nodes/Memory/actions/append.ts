import type { INodeProperties } from 'n8n-workflow';

import { keyField, ttlField } from '../../shared/memoryFields';
import { jsonParameter, ttlMs, type OperationExecute } from './types';

const show = { show: { operation: ['append'] } };

export const description: INodeProperties[] = [
	{ ...keyField, displayOptions: show },
	{
		displayName: 'Item (JSON)',
		name: 'item',
		type: 'json',
		default: '{}',
		displayOptions: show,
		description: 'The JSON value to add to the end of the list',
	},
	{ ...ttlField, displayOptions: show },
];

/** Atomic across workers. Output: { key, length, version }. A missing key counts as an empty list. */
export const execute: OperationExecute = async ({ fn, memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	return { key, ...(await memory.append(ns, key, [jsonParameter(fn, 'item', itemIndex)], ttlMs(fn, itemIndex))) };
};
