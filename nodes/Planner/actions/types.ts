import type { StructuredToolInterface } from '@langchain/core/tools';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { UsageTracker } from '../../../lib/llm';
import type { resumedPlan } from './approval';

export interface RunContext {
	fn: IExecuteFunctions;
	/** Tools of the connected tool sub-nodes, given to every task run by the chat model. */
	connectedTools: StructuredToolInterface[];
	/** Set when n8n resumed the execution after a plan approval wait. */
	resumed?: ReturnType<typeof resumedPlan>;
}

/** An item's outcome: result items (first output), or the model's questions (second output, Needs Clarification). */
export type PlannerOutput = { result: IDataObject[] } | { clarification: IDataObject };

export type PlannerOperation = (
	run: RunContext,
	itemIndex: number,
	usage: UsageTracker,
) => Promise<PlannerOutput>;
