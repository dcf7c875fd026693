import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import type { UsageTracker } from '../../../lib/llm';
import type { Memory, Namespace } from '../../../lib/memory';
import type { Fact, FactMemory, RecalledFact } from '../../../lib/memory/facts';
import type { RunStore } from '../../shared/clients/memory';
import type { Operation } from '../../shared/runtime/itemLoop';
import type { ItemSettings } from '../../shared/runtime/itemSettings';

/** What the Memory node opens once per run: its store (at the first item that needs it). */
export interface MemoryRun {
	fn: IExecuteFunctions;
	store: RunStore;
}

/** An item's settings: the common ones, plus its Memory (access and retry policies) and namespace. */
export interface MemoryItem extends ItemSettings {
	memory: Memory;
	ns: Namespace;
}

/** An operation's output JSON for one item (the router adds the scope and scope ID). */
export type MemoryOperation = Operation<MemoryRun, MemoryItem, IDataObject>;

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

/** A Long-Term Memory item's settings: the common ones, its tenant's facts and the usage of its embedding calls. */
export interface FactItem extends ItemSettings {
	facts: FactMemory;
	usage: UsageTracker;
}

/** A Long-Term Memory operation: one output item, or one per fact. */
export type FactOperation = Operation<MemoryRun, FactItem, IDataObject | IDataObject[]>;

/** The Subject parameter, trimmed. */
export function subjectParameter(fn: IExecuteFunctions, itemIndex: number): string {
	return String(fn.getNodeParameter('subject', itemIndex) ?? '').trim();
}

/** A fact as an output item's JSON. */
export function factJson(fact: Fact | RecalledFact): IDataObject {
	return { ...fact } as unknown as IDataObject;
}
