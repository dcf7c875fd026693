import type { StructuredToolInterface } from '@langchain/core/tools';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { PlanApproval, PlanDecision } from '../../../lib/approval';
import type { LlmConfig, UsageTotals } from '../../../lib/llm';
import type { Operation } from '../../shared/runtime/itemLoop';
import type { ModelItemSettings } from '../../shared/runtime/itemSettings';

/** What the Planner prepares once per node run. */
export interface PlannerRun {
	fn: IExecuteFunctions;
	/** The OpenAgents LLM API credential, when one is selected. */
	llm?: LlmConfig;
	/** Tools of the connected tool sub-nodes, given to every task run by the chat model. */
	connectedTools: StructuredToolInterface[];
	/** Set when n8n resumed the execution after a plan approval wait. */
	resumed?: ResumedPlan;
}

/** An item's settings: the common ones, its usage tracker, and what it spent on planning before an approval wait. */
export interface PlannerItem extends ModelItemSettings {
	/** When the item's run started, ms since the epoch. */
	startedAt: number;
	/** Usage before the wait, for the item n8n resumed. */
	earlier?: UsageTotals;
}

/** A plan approval n8n resumed: the waiting item, the outputs before it, the request and the decision. */
export interface ResumedPlan {
	itemIndex: number;
	outputs: INodeExecutionData[][];
	request: PlanApproval;
	/** What the waiting item spent on planning. */
	usage: UsageTotals;
	/** Undefined when nobody decided before the timeout. */
	decision?: PlanDecision;
}

/** An item's outcome: result items (first output), or the model's questions (second output, Needs Clarification). */
type PlannerOutput = { result: IDataObject[] } | { clarification: IDataObject };

export type PlannerOperation = Operation<PlannerRun, PlannerItem, PlannerOutput>;
