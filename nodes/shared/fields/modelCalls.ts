/** Options of nodes that call the model: the per-attempt Model Call Timeout and the budget (cost, calls, tokens, time). */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import type { AgentBudget } from '../../../lib/llm';

/** Default per-attempt limit for one model, embeddings or rerank request, ms; a slower attempt is aborted and retried. */
export const LLM_CALL_TIMEOUT_MS = 120_000;

/** The Options field that sets that limit, on nodes that call the model (read by llmCallOptions). */
export const modelTimeoutOption: INodeProperties = {
	displayName: 'Model Call Timeout (Seconds)',
	name: 'modelTimeoutSeconds',
	type: 'number',
	typeOptions: { minValue: 1 },
	default: 120,
	description:
		'Per attempt of a model call: a call the model has not answered by then is aborted, and retried under the Retry Policy',
};

/** Options → Model Call Timeout in ms, else LLM_CALL_TIMEOUT_MS. */
export function modelTimeoutMs(options: IDataObject): number {
	const seconds = Number(options.modelTimeoutSeconds);
	return seconds > 0 ? seconds * 1000 : LLM_CALL_TIMEOUT_MS;
}

/**
 * The budget options of a node's Options collection, read by budgetFromOptions. `covers`: what one budget is for
 * (e.g. "Per item"); `stop`: what happens once it is spent (e.g. "no new task starts").
 */
export function budgetOptions(covers: string, stop: string): INodeProperties[] {
	return [
		{
			displayName: 'Max Cost (Budget)',
			name: 'maxCost',
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 4 },
			default: 0,
			description: `${covers}: once the model calls cost this much (in the LLM credential's currency, USD by default), ${stop}. 0 = no limit.`,
		},
		{
			displayName: 'Max Model Calls (Budget)',
			name: 'maxModelCalls',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: `${covers}: once this many model calls are made, ${stop}. 0 = no limit.`,
		},
		{
			displayName: 'Max Tokens (Budget)',
			name: 'maxTotalTokens',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: `${covers}: once prompt + completion tokens reach this, ${stop}. 0 = no limit.`,
		},
		{
			displayName: 'Max Wall Time (Budget, Seconds)',
			name: 'maxWallTimeSeconds',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: `${covers}: after this many seconds, ${stop}. 0 = no limit.`,
		},
	];
}

/** The budget in a node's Options (Max Cost, Max Model Calls, Max Tokens, Max Wall Time in seconds); 0 or empty = no limit. */
export function budgetFromOptions(options: IDataObject): AgentBudget {
	const limit = (value: unknown) => (Number(value) > 0 ? Number(value) : undefined);
	const seconds = limit(options.maxWallTimeSeconds);
	return {
		maxCost: limit(options.maxCost),
		maxModelCalls: limit(options.maxModelCalls),
		maxTotalTokens: limit(options.maxTotalTokens),
		maxWallTimeMs: seconds && seconds * 1000,
	};
}
