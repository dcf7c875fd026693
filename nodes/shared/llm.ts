/** The `OpenAgents LLM API` credential as lib/llm's LlmConfig. */
import type {
	IDataObject,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeProperties,
	ISupplyDataFunctions,
} from 'n8n-workflow';

import {
	secretsOf,
	type AgentBudget,
	type CallOptions,
	type LlmConfig,
	type UsageTotals,
} from '../../lib/llm';
import { getRetryPolicy } from './retryPolicy';

type Context = IExecuteFunctions | ISupplyDataFunctions;

/** Default per-attempt limit for one model, embeddings or rerank request, ms; a slower attempt is aborted and retried. */
export const LLM_CALL_TIMEOUT_MS = 120_000;

/** Hints for the codes of lib/llm's modelFailureCode. */
export const MODEL_FAILURE_HINTS = {
	model_timeout:
		'The model did not answer in time: raise Options → Model Call Timeout, or check the model server.',
	model_unavailable:
		'The model server could not be reached or dropped the connection: check the LLM API credential and the server.',
	model_error:
		'The model server answered with an error (rate limit or server error) after the retries: see the message.',
};

/** The Options field that sets that limit, on nodes that call the model (read by llmCallOptions). */
export const modelTimeoutOption: INodeProperties = {
	displayName: 'Model Call Timeout (Seconds)',
	name: 'modelTimeoutSeconds',
	type: 'number',
	typeOptions: { minValue: 1 },
	default: LLM_CALL_TIMEOUT_MS / 1000,
	description:
		'Per attempt of a model call: a call the model has not answered by then is aborted, and retried under the Retry Policy',
};

export async function llmConfigFromCredential(
	fn: Context | ILoadOptionsFunctions,
): Promise<LlmConfig> {
	const c = await fn.getCredentials('openAgentsLlmApi');
	return {
		baseUrl: String(c.baseUrl ?? '').replace(/\/+$/, ''),
		apiKey: String(c.apiKey ?? ''),
		chatModel: String(c.chatModel ?? ''),
		embeddingModel: String(c.embeddingModel ?? ''),
	};
}

/**
 * lib/llm call options for an item: its Retry Policy, n8n's cancel signal, the per-attempt timeout (Options → Model
 * Call Timeout where the node has it, else 120 s), the key to redact (when `llm` is given), n8n's log.
 */
export function llmCallOptions(fn: Context, itemIndex: number, llm?: LlmConfig): CallOptions {
	const seconds = Number(
		(fn.getNodeParameter('options', itemIndex, {}) as IDataObject).modelTimeoutSeconds,
	);
	return {
		policy: getRetryPolicy(fn, itemIndex),
		signal: fn.getExecutionCancelSignal(),
		timeoutMs: seconds > 0 ? seconds * 1000 : LLM_CALL_TIMEOUT_MS,
		secrets: llm ? secretsOf(llm) : [],
		log: (line) => fn.logger.warn(line),
	};
}

/**
 * The budget options of a node's Options collection, read by budgetFromOptions. `covers`: what one budget is for
 * (e.g. "Per item"); `stop`: what happens once it is spent (e.g. "no new task starts").
 */
export function budgetOptions(covers: string, stop: string): INodeProperties[] {
	const number = { type: 'number' as const, typeOptions: { minValue: 0 }, default: 0 };
	return [
		{
			displayName: 'Max Model Calls (Budget)',
			name: 'maxModelCalls',
			...number,
			description: `${covers}: once this many model calls are made, ${stop}. 0 = no limit.`,
		},
		{
			displayName: 'Max Tokens (Budget)',
			name: 'maxTotalTokens',
			...number,
			description: `${covers}: once prompt + completion tokens reach this, ${stop}. 0 = no limit.`,
		},
		{
			displayName: 'Max Wall Time (Budget, Seconds)',
			name: 'maxWallTimeSeconds',
			...number,
			description: `${covers}: after this many seconds, ${stop}. 0 = no limit.`,
		},
	];
}

/** The budget in a node's Options (Max Model Calls, Max Tokens, Max Wall Time in seconds); 0 or empty = no limit. */
export function budgetFromOptions(options: IDataObject): AgentBudget {
	const limit = (value: unknown) => (Number(value) > 0 ? Number(value) : undefined);
	const seconds = limit(options.maxWallTimeSeconds);
	return {
		maxModelCalls: limit(options.maxModelCalls),
		maxTotalTokens: limit(options.maxTotalTokens),
		maxWallTimeMs: seconds && seconds * 1000,
	};
}

/** Custom data keys (n8n allows 10 per execution, values as strings) with the totals of every Agent and Planner node in the execution. */
export const USAGE_KEYS: Record<keyof UsageTotals, string> = {
	promptTokens: 'openagents_prompt_tokens',
	completionTokens: 'openagents_completion_tokens',
	totalTokens: 'openagents_total_tokens',
	modelCalls: 'openagents_model_calls',
};

/** Adds `usage` to the execution's custom data totals (no-op where there is no execution data). */
export function addUsageToExecution(fn: IExecuteFunctions, usage: UsageTotals): void {
	let customData;
	try {
		customData = fn.customData;
	} catch {
		return; // no execution data (e.g. the node runs as a tool of another agent)
	}
	for (const [field, key] of Object.entries(USAGE_KEYS) as Array<[keyof UsageTotals, string]>) {
		customData.set(key, String(Number(customData.get(key) ?? 0) + usage[field]));
	}
}
