/**
 * Runs the chosen operation over the items. Plans and results go to the first output, the model's clarifying
 * questions to the second (Needs Clarification). A failed item becomes a NodeOperationError with its index, or with
 * continueOnFail an error item { error, code, problems?, usage }; every output item has pairedItem.
 */
import type {
	EngineRequest,
	EngineResponse,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
} from 'n8n-workflow';

import { modelFailureCode, secretsOf, withEarlier, type UsageTotals } from '../../../lib/llm';
import { CheckpointError, PlanValidationError } from '../../../lib/planning';
import { connectedTools, optionalLlmConfig } from '../../shared/connections';
import { traceItem } from '../../shared/tracing';
import { OPENAGENTS } from '../../../lib/tracing';
import { failedItem, type ErrorRule } from '../../shared/itemError';
import { ApprovalTimeoutError } from '../../shared/approval';
import { addUsageToExecution, MODEL_FAILURE_HINTS, usageTracker } from '../../shared/llm';
import { PlanApprovalNeeded, plannerApprovalRequest, resumedPlan } from './approval';
import * as createPlan from './createPlan';
import * as executePlan from './executePlan';
import * as planAndExecute from './planAndExecute';
import type { PlannerOperation, RunContext } from './types';

const operations: Record<string, PlannerOperation> = {
	createPlan: createPlan.execute,
	executePlan: executePlan.execute,
	planAndExecute: planAndExecute.execute,
};

const hints = {
	NO_MODEL:
		'Connect a chat model sub-node (e.g. OpenAI Chat Model) or select an OpenAgents LLM API credential.',
	invalid_plan:
		'The model could not produce a valid plan; make the goal more specific, raise Max Tasks, or list the roles.',
	approval_timeout:
		'Raise Options → Approval Timeout (Minutes), or set On Approval Timeout to Reject (the item then says the plan was not approved).',
	checkpoint_failed:
		'A completed task could not be saved to the Checkpoint Store, so the run stopped: check the memory store, then run the same input again to resume.',
	...MODEL_FAILURE_HINTS,
};

/**
 * `response`: n8n's EngineResponse when it calls the node again after a plan approval wait; the items done before the
 * wait are taken from it. Returns an EngineRequest when an item's plan waits for approval.
 */
export async function route(
	this: IExecuteFunctions,
	response?: EngineResponse,
): Promise<INodeExecutionData[][] | EngineRequest> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	const llm = await optionalLlmConfig(this);
	const secrets = llm ? secretsOf(llm) : [];
	const resumed = resumedPlan(response);
	const run: RunContext = {
		fn: this,
		connectedTools: await connectedTools(this),
		...(resumed ? { resumed } : {}),
	};
	const results: INodeExecutionData[] = resumed ? [...resumed.state.results] : [];
	const clarifications: INodeExecutionData[] = resumed ? [...resumed.state.clarifications] : [];
	// Usage reported to the execution in this call only (the planning before a wait was reported then).
	const total = usageTracker(llm);
	try {
		for (let itemIndex = resumed?.state.itemIndex ?? 0; itemIndex < items.length; itemIndex++) {
			const usage = usageTracker(llm);
			const before = itemIndex === resumed?.state.itemIndex ? resumed.state.usage : undefined;
			const usageSoFar = () => ({ ...withEarlier(usage.get(), before) });
			try {
				const outcome = await traceItem(
					itemIndex,
					`${operation} ${this.getNode().name}`,
					{ [OPENAGENTS.operation]: operation },
					() => operations[operation](run, itemIndex, usage),
					usage,
				);
				if ('clarification' in outcome)
					clarifications.push({
						json: { ...outcome.clarification, usage: usageSoFar() },
						pairedItem: { item: itemIndex },
					});
				else
					results.push(
						...outcome.result.map((json) => ({
							json: { ...json, usage: usageSoFar() },
							pairedItem: { item: itemIndex },
						})),
					);
			} catch (error) {
				if (error instanceof PlanApprovalNeeded)
					return plannerApprovalRequest(error, {
						itemIndex,
						results,
						clarifications,
						usage: usage.get() as UsageTotals & IDataObject,
					});
				const rule: ErrorRule = {
					hints,
					fallback: `Planner "${operation}" failed for item ${itemIndex}.`,
				};
				const invalidPlan = error instanceof PlanValidationError;
				results.push(
					failedItem(this, error, itemIndex, rule, {
						code: invalidPlan
							? 'invalid_plan'
							: error instanceof CheckpointError
								? 'checkpoint_failed'
								: error instanceof ApprovalTimeoutError
									? error.code
									: modelFailureCode(error),
						details: {
							...(invalidPlan ? { problems: error.problems as unknown as IDataObject[] } : {}),
							usage: usageSoFar(),
						},
						secrets,
					}),
				);
			} finally {
				total.add(usage.get());
			}
		}
	} finally {
		addUsageToExecution(this, total.get());
	}
	return [results, clarifications];
}
