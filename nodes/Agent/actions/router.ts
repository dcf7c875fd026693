/**
 * Runs the chosen template over the items. A failed item becomes a NodeOperationError with its index and usage so far,
 * or with continueOnFail an error item { error, code, usage, …partial result }; every output item has pairedItem.
 * Token usage of all items is added to the execution's custom data ($execution.customData).
 */
import type {
	EngineRequest,
	EngineResponse,
	IExecuteFunctions,
	INodeExecutionData,
} from 'n8n-workflow';

import {
	AgentError,
	modelFailureCode,
	StructuredOutputError,
	TaskError,
	secretsOf,
	withEarlier,
} from '../../../lib/llm';
import { closeStore, openStore, type OpenedStore } from '../../shared/memoryContext';
import { failedItem, type ErrorRule } from '../../shared/itemError';
import { addUsageToExecution, MODEL_FAILURE_HINTS, usageTracker } from '../../shared/llm';
import { connectedTools, optionalLlmConfig } from '../../shared/connections';
import { traceItem } from '../../shared/tracing';
import { GEN_AI, GEN_AI_OPERATION, OPENAGENTS } from '../../../lib/tracing';
import { ApprovalNeeded, agentApprovalRequest, resumedRun } from './approval';
import * as conversation from './conversation';
import * as task from './task';
import { AgentRunError, type RunContext, type TemplateRun } from './types';

const templates: Record<string, TemplateRun> = {
	conversation: conversation.execute,
	task: task.execute,
};

const ERRORS: ErrorRule = {
	fallback: 'The agent run failed.',
	hints: {
		NO_MODEL:
			'Connect a chat model sub-node (e.g. OpenAI Chat Model) or select an OpenAgents LLM API credential.',
		EMPTY_PROMPT:
			"Map the user's message into Prompt, e.g. {{ $json.chatInput }} after a Chat Trigger.",
		TOOL_NAME_COLLISION:
			'Rename one of the tools (tool sub-nodes have a name or description field).',
		TOOLS_UNSUPPORTED: 'Use a chat model that supports tool calling (function calling).',
		max_iterations:
			'Raise Options → Max Iterations, or make the system message tell the model when to stop.',
		tool_errors:
			'See the steps in the error output for the failing tool calls; raise Options → Max Tool Errors to let the model try longer.',
		invalid_output:
			'Simplify the output fields or JSON Schema, or describe them in the system message.',
		step_failed:
			"Turn Strict Mode off to run the other steps anyway, or raise the step's timeout or retries.",
		approval_timeout:
			'Raise Options → Approval Timeout (Minutes), or set On Approval Timeout to Reject to let the agent continue without the call.',
		...MODEL_FAILURE_HINTS,
	},
};

function codeOf(error: Error): string | undefined {
	if (error instanceof AgentError || error instanceof AgentRunError) return error.code;
	if (error instanceof StructuredOutputError) return 'invalid_output';
	if (error instanceof TaskError) return 'invalid_steps';
	return modelFailureCode(error);
}

/**
 * `response`: n8n's EngineResponse when it calls the node again after an approval wait; the items done before the
 * wait are taken from it, and the waiting item continues. Returns an EngineRequest when an item waits for approval.
 */
export async function route(
	this: IExecuteFunctions,
	response?: EngineResponse,
): Promise<INodeExecutionData[][] | EngineRequest> {
	const items = this.getInputData();
	const llm = await optionalLlmConfig(this);
	const secrets = llm ? secretsOf(llm) : [];
	const resumed = resumedRun(response);
	let store: Promise<OpenedStore> | undefined;
	const run: RunContext = {
		fn: this,
		connectedTools: await connectedTools(this),
		memoryStore: () => (store ??= openStore(this)),
		...(resumed ? { resumed } : {}),
	};
	// Usage reported to the execution in this call only (what an earlier call spent was reported then).
	const total = usageTracker(llm);
	const out: INodeExecutionData[] = resumed ? [...resumed.state.outputs] : [];
	try {
		for (let itemIndex = resumed?.state.itemIndex ?? 0; itemIndex < items.length; itemIndex++) {
			const usage = usageTracker(llm);
			const before = itemIndex === resumed?.state.itemIndex ? resumed.paused.usage : undefined;
			const started = Date.now() - (before ? resumed!.paused.durationMs : 0);
			try {
				const template = this.getNodeParameter('template', itemIndex) as string;
				const json = await traceItem(
					itemIndex,
					`${GEN_AI_OPERATION.invokeAgent} ${this.getNode().name}`,
					{
						[GEN_AI.operationName]: GEN_AI_OPERATION.invokeAgent,
						[GEN_AI.agentName]: this.getNode().name,
						[OPENAGENTS.template]: template,
					},
					() => templates[template](run, itemIndex, usage),
					usage,
				);
				out.push({
					json: { ...json, usage: { ...withEarlier(usage.get(), before) } },
					pairedItem: { item: itemIndex },
				});
			} catch (error) {
				if (error instanceof ApprovalNeeded) return agentApprovalRequest(error, itemIndex, out);
				const usageSoFar = withEarlier(usage.get(), before);
				out.push(
					failedItem(this, error, itemIndex, ERRORS, {
						code: codeOf(error as Error),
						note: `Usage so far: ${usageSoFar.modelCalls} model calls, ${usageSoFar.totalTokens} tokens.`,
						details: {
							...(error instanceof AgentRunError ? error.partial : {}),
							usage: { ...usageSoFar },
							durationMs: Date.now() - started,
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
		// A store that failed to open has nothing to close (its error was the item's).
		await store?.then(closeStore, () => undefined);
	}
	return [out];
}
