import type { INodeProperties } from 'n8n-workflow';

import { keyField } from '../../shared/fields/memory';
import type { MemoryOperation } from './types';

export const description: INodeProperties[] = [
	{ ...keyField, displayOptions: { show: { operation: ['get'] } } },
];

/** Output: { key, found, value, version } (value null and version 0 when the key does not exist). */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	const stored = await memory.get(ns, key);
	return {
		key,
		found: stored !== undefined,
		value: stored?.value ?? null,
		version: stored?.version ?? 0,
	};
};
