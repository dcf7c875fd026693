import type { StructuredToolInterface } from '@langchain/core/tools';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { UsageTracker } from '../../../lib/llm';
import type { OpenedStore } from '../../shared/memoryContext';
import type { ResumedRun } from './approval';

/** What the router prepares once per node run. */
export interface RunContext {
	fn: IExecuteFunctions;
	/** Tools of the connected tool sub-nodes (the same for every item). */
	connectedTools: StructuredToolInterface[];
	/** The memory store of the built-in memory tools, opened on first use and closed after the run. */
	memoryStore(): Promise<OpenedStore>;
	/** Set when n8n resumed the execution after an approval: the item that waited and the reviewer's decisions. */
	resumed?: ResumedRun;
}

/** A template's work for one item: returns the item's output JSON; `usage` collects its model calls (also on failure). */
export type TemplateRun = (
	run: RunContext,
	itemIndex: number,
	usage: UsageTracker,
) => Promise<IDataObject>;

/**
 * A run that stopped without a result (max iterations, too many tool errors, a failed step in strict mode, output
 * that stayed invalid): `partial` (output so far, steps, status, reason) goes into the error item with continueOnFail.
 */
export class AgentRunError extends Error {
	override name = 'AgentRunError';

	constructor(
		message: string,
		readonly code: string,
		readonly partial: IDataObject,
	) {
		super(message);
	}
}
