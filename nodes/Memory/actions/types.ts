import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import type { Memory, Namespace } from '../../../lib/memory';

/** What every operation receives for one item. */
export interface OperationContext {
	fn: IExecuteFunctions;
	memory: Memory;
	ns: Namespace;
	itemIndex: number;
}

export type OperationExecute = (context: OperationContext) => Promise<IDataObject>;

/** TTL parameter (seconds, 0 = none) in milliseconds, or undefined. */
export function ttlMs(fn: IExecuteFunctions, itemIndex: number): number | undefined {
	const seconds = fn.getNodeParameter('ttlSeconds', itemIndex, 0) as number;
	return seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * A JSON parameter: objects/arrays from expressions pass through; text is parsed as JSON. Text that an expression
 * produced and that is not JSON (e.g. {{ $json.plan }} → gold) is taken as that string.
 */
export function jsonParameter(fn: IExecuteFunctions, name: string, itemIndex: number): unknown {
	const raw = fn.getNodeParameter(name, itemIndex) as unknown;
	if (typeof raw !== 'string') return raw;
	try {
		return JSON.parse(raw);
	} catch {
		const definition = fn.getNode().parameters[name];
		if (typeof definition === 'string' && definition.startsWith('=')) return raw;
		throw new NodeOperationError(
			fn.getNode(),
			`"${name}" is not valid JSON: ${raw.length > 80 ? `${raw.slice(0, 80)}…` : raw}`,
			{ itemIndex },
		);
	}
}
