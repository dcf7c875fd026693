import type { StructuredToolInterface } from '@langchain/core/tools';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { ToolCallsApproval } from '../../../lib/approval';
import type { AgentResult, LlmConfig, ToolCallDecision, UsageTotals } from '../../../lib/llm';
import type { RunStore } from '../../shared/clients/memory';
import type { Operation } from '../../shared/runtime/itemLoop';
import type { ModelItemSettings } from '../../shared/runtime/itemSettings';

/** What the Agent prepares once per node run. */
export interface AgentRun {
	fn: IExecuteFunctions;
	/** The OpenAgents LLM API credential, when one is selected. */
	llm?: LlmConfig;
	/** Tools of the connected tool sub-nodes (the same for every item). */
	connectedTools: StructuredToolInterface[];
	/** The memory store of the built-in memory tools, opened on first use and closed after the run. */
	memoryStore: RunStore;
	/** Set when n8n resumed the execution after an approval: the item that waited and the reviewer's decisions. */
	resumed?: ResumedTurn;
}

/** An item's settings: the common ones, its usage tracker, and what its run spent before an approval wait. */
export interface AgentItem extends ModelItemSettings {
	/** When the item's run started, ms since the epoch (earlier for a resumed item: its working time before the wait). */
	startedAt: number;
	/** Usage before the wait, for the item n8n resumed. */
	earlier?: UsageTotals;
}

/** A template's work for one item: returns the item's output JSON; `usage` collects its model calls (also on failure). */
export type TemplateRun = Operation<AgentRun, AgentItem, IDataObject>;

/** A turn resumed after approval: where it stopped and the reviewer's decisions (timed_out for all when nobody decided). */
export interface ResumedTurn {
	itemIndex: number;
	/** Output items of the items before it, per output. */
	outputs: INodeExecutionData[][];
	request: ToolCallsApproval;
	paused: AgentResult;
	/** Messages before the run's own: where the turn to save in memory starts. */
	promptMessages: number;
	decisions: ToolCallDecision[];
	timedOut: boolean;
}
