import type { INodeProperties } from 'n8n-workflow';

import { keyField } from '../../shared/fields/memory';
import type { MemoryOperation } from './types';

export const description: INodeProperties[] = [
	{ ...keyField, displayOptions: { show: { operation: ['delete'] } } },
];

/** Output: { key, deleted } — deleted is false when the key did not exist. */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	return { key, deleted: await memory.delete(ns, key) };
};
