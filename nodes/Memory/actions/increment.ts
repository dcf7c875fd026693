import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import { keyField, ttlField } from '../../shared/fields/memory';
import { ttlMs, type MemoryOperation } from './types';

const properties: INodeProperties[] = [
	{ ...keyField },
	{
		displayName: 'By',
		name: 'by',
		type: 'number',
		default: 1,
		description: 'Amount to add (negative to subtract)',
	},
	{ ...ttlField },
];

export const description = updateDisplayOptions({ show: { operation: ['increment'] } }, properties);

/** Atomic across workers. Output: { key, value, version }. A missing key counts as 0. */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	const result = await memory.increment(
		ns,
		key,
		fn.getNodeParameter('by', itemIndex, 1) as number,
		ttlMs(fn, itemIndex),
	);
	return { key, ...result };
};
