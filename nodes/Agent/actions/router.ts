/**
 * Runs the chosen template over the items. A failed item becomes a NodeOperationError with its index and usage so far,
 * or with continueOnFail an error item { error, code, usage, …partial result }; every output item has pairedItem.
 * Token usage of all items is added to the execution's custom data ($execution.customData).
 */
import type {
	EngineRequest,
	EngineResponse,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
} from 'n8n-workflow';

import {
	AgentError,
	AgentRunError,
	modelFailureCode,
	StructuredOutputError,
	TaskError,
	secretsOf,
	withEarlier,
} from '../../../lib/llm';
import { memoryErrorOf } from '../../../lib/memory';
import { GEN_AI, GEN_AI_OPERATION, OPENAGENTS } from '../../../lib/tracing';
import { connectedTools } from '../../shared/ai/connections';
import { MODEL_FAILURE_HINTS, optionalLlmConfig } from '../../shared/clients/llmApi';
import { RunStore, STORE_FAILURE_HINTS } from '../../shared/clients/memory';
import type { ErrorRule } from '../../shared/runtime/failedItem';
import { runItems } from '../../shared/runtime/itemLoop';
import { readItemSettings } from '../../shared/runtime/itemSettings';
import { usageTracker } from '../../shared/runtime/usage';
import * as conversation from './conversation';
import * as task from './task';
import type { AgentItem, AgentRun, TemplateRun } from './types';

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
		...STORE_FAILURE_HINTS,
	},
};

/** The failed item's code; a memory store's failure (the Chat Memory's, wrapped by n8n) before the model's. */
function codeOf(error: Error): string | undefined {
	if (error instanceof AgentError || error instanceof AgentRunError) return error.code;
	if (error instanceof StructuredOutputError) return 'invalid_output';
	if (error instanceof TaskError) return 'invalid_steps';
	return memoryErrorOf(error)?.code ?? modelFailureCode(error);
}

/**
 * `response`: n8n's EngineResponse when it calls the node again after an approval wait; the items done before the
 * wait are taken from it, and the waiting item continues. Returns an EngineRequest when an item waits for approval.
 */
export async function route(
	this: IExecuteFunctions,
	response?: EngineResponse,
): Promise<INodeExecutionData[][] | EngineRequest> {
	const llm = await optionalLlmConfig(this);
	const resumed = conversation.resumedTurn(response);
	const run: AgentRun = {
		fn: this,
		llm,
		connectedTools: await connectedTools(this),
		memoryStore: new RunStore(this),
		...(resumed ? { resumed } : {}),
	};
	const nodeName = this.getNode().name;
	const usageSoFar = (item: AgentItem) => withEarlier(item.usage.get(), item.earlier);
	return runItems(this, {
		errors: ERRORS,
		waits: true,
		...(resumed ? { resume: resumed } : {}),
		span: (itemIndex) => ({
			name: `${GEN_AI_OPERATION.invokeAgent} ${nodeName}`,
			attributes: {
				[GEN_AI.operationName]: GEN_AI_OPERATION.invokeAgent,
				[GEN_AI.agentName]: nodeName,
				[OPENAGENTS.template]: this.getNodeParameter('template', itemIndex) as string,
			},
		}),
		settings: (itemIndex): AgentItem => {
			// A resumed item goes on from where it paused: its usage and working time count too.
			const paused = resumed?.itemIndex === itemIndex ? resumed.paused : undefined;
			return {
				...readItemSettings(this, itemIndex),
				usage: usageTracker(llm),
				startedAt: Date.now() - (paused?.durationMs ?? 0),
				...(paused ? { earlier: paused.usage } : {}),
			};
		},
		run: async (item) => {
			const template = this.getNodeParameter('template', item.itemIndex) as string;
			const json = await templates[template](run, item);
			return { ...json, usage: { ...usageSoFar(item) } };
		},
		failure: (error, item) => {
			const spent = item ? usageSoFar(item) : usageTracker(llm).get();
			return {
				code: codeOf(error),
				note: `Usage so far: ${spent.modelCalls} model calls, ${spent.totalTokens} tokens.`,
				details: {
					...(error instanceof AgentRunError ? (error.partial as IDataObject) : {}),
					usage: { ...spent },
					...(item ? { durationMs: Date.now() - item.startedAt } : {}),
				},
				secrets: llm ? secretsOf(llm) : [],
			};
		},
		close: () => run.memoryStore.close(),
	});
}
