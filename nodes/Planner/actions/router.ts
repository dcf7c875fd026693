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

import { modelFailureCode, secretsOf, withEarlier } from '../../../lib/llm';
import { memoryErrorOf } from '../../../lib/memory';
import { CheckpointError, PlanValidationError } from '../../../lib/planning';
import { ApprovalTimeoutError } from '../../shared/ai/approval';
import { connectedTools } from '../../shared/ai/connections';
import { MODEL_FAILURE_HINTS, optionalLlmConfig } from '../../shared/clients/llmApi';
import { STORE_FAILURE_HINTS } from '../../shared/clients/memory';
import { operationSpan, runItems, ToOutput } from '../../shared/runtime/itemLoop';
import { readItemSettings } from '../../shared/runtime/itemSettings';
import { usageTracker } from '../../shared/runtime/usage';
import * as createPlan from './createPlan';
import * as executePlan from './executePlan';
import * as planAndExecute from './planAndExecute';
import type { PlannerItem, PlannerOperation, PlannerRun } from './types';

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
	...STORE_FAILURE_HINTS,
};

/**
 * The failed item's code: invalid_plan, checkpoint_failed, approval_timeout, the memory store's (opening or reading
 * the checkpoints: store_unavailable, store_timeout), or the model failure's.
 */
function codeOf(error: Error): string | undefined {
	if (error instanceof PlanValidationError) return 'invalid_plan';
	if (error instanceof CheckpointError) return 'checkpoint_failed';
	if (error instanceof ApprovalTimeoutError) return error.code;
	return memoryErrorOf(error)?.code ?? modelFailureCode(error);
}

/**
 * `response`: n8n's EngineResponse when it calls the node again after a plan approval wait; the items done before the
 * wait are taken from it. Returns an EngineRequest when an item's plan waits for approval.
 */
export async function route(
	this: IExecuteFunctions,
	response?: EngineResponse,
): Promise<INodeExecutionData[][] | EngineRequest> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const llm = await optionalLlmConfig(this);
	const resumed = planAndExecute.resumedPlan(response);
	const run: PlannerRun = {
		fn: this,
		llm,
		connectedTools: await connectedTools(this),
		...(resumed ? { resumed } : {}),
	};
	const usageSoFar = (item: PlannerItem) => ({ ...withEarlier(item.usage.get(), item.earlier) });
	return runItems(this, {
		errors: { hints, fallback: `Planner "${operation}" failed.` },
		waits: true,
		outputs: 2,
		...(resumed ? { resume: resumed } : {}),
		span: () => operationSpan(this, operation),
		settings: (itemIndex): PlannerItem => ({
			...readItemSettings(this, itemIndex),
			usage: usageTracker(llm),
			startedAt: Date.now(),
			...(resumed?.itemIndex === itemIndex ? { earlier: resumed.usage } : {}),
		}),
		run: async (item) => {
			const outcome = await operations[operation](run, item);
			const usage = usageSoFar(item);
			return 'clarification' in outcome
				? new ToOutput(1, { ...outcome.clarification, usage })
				: outcome.result.map((json) => ({ ...json, usage }));
		},
		failure: (error, item) => ({
			code: codeOf(error),
			details: {
				...(error instanceof PlanValidationError
					? { problems: error.problems as unknown as IDataObject[] }
					: {}),
				usage: item ? usageSoFar(item) : { ...usageTracker(llm).get() },
			},
			secrets: llm ? secretsOf(llm) : [],
		}),
	});
}
