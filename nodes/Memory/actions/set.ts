import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import { keyField, ttlField } from '../../shared/fields/memory';
import { jsonParameter, ttlMs, type MemoryOperation } from './types';

const properties: INodeProperties[] = [
	{ ...keyField },
	{
		displayName: 'Value (JSON)',
		name: 'value',
		type: 'json',
		default: '{}',
		description: 'Any JSON value: object, array, string, number, boolean or null',
		hint: 'An expression such as {{ $json }} stores the whole input item',
	},
	{ ...ttlField },
	{
		displayName: 'Only If Version',
		name: 'ifVersion',
		type: 'number',
		typeOptions: { minValue: -1 },
		default: -1,
		description:
			'Compare-and-set: write only if the stored version equals this (read it with Get); 0 writes only if the key does not exist; -1 always writes. A mismatch is a "version conflict" error.',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['set'] } }, properties);

/** Output: { key, version } — the version after the write. */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	const ifVersion = fn.getNodeParameter('ifVersion', itemIndex, -1) as number;
	const { version } = await memory.set(ns, key, jsonParameter(fn, 'value', itemIndex), {
		ttlMs: ttlMs(fn, itemIndex),
		ifVersion: ifVersion >= 0 ? ifVersion : undefined,
	});
	return { key, version };
};
