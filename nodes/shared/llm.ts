/** The `OpenAgents LLM API` credential as lib/llm's LlmConfig. */
import type { IExecuteFunctions, ISupplyDataFunctions } from 'n8n-workflow';

import { secretsOf, type CallOptions, type LlmConfig } from '../../lib/llm';
import { getRetryPolicy } from './retryPolicy';

type Context = IExecuteFunctions | ISupplyDataFunctions;

/** Per-attempt limit for one model or embeddings request, ms; a slower attempt is aborted and retried. */
export const LLM_CALL_TIMEOUT_MS = 120_000;

export async function llmConfigFromCredential(fn: Context): Promise<LlmConfig> {
	const c = await fn.getCredentials('openAgentsLlmApi');
	return {
		baseUrl: String(c.baseUrl ?? '').replace(/\/+$/, ''),
		apiKey: String(c.apiKey ?? ''),
		chatModel: String(c.chatModel ?? ''),
		embeddingModel: String(c.embeddingModel ?? ''),
	};
}

/** lib/llm call options for an item: its Retry Policy, n8n's cancel signal, the timeout, the key to redact (when `llm` is given), n8n's log. */
export function llmCallOptions(fn: Context, itemIndex: number, llm?: LlmConfig): CallOptions {
	return {
		policy: getRetryPolicy(fn, itemIndex),
		signal: fn.getExecutionCancelSignal(),
		timeoutMs: LLM_CALL_TIMEOUT_MS,
		secrets: llm ? secretsOf(llm) : [],
		log: (line) => fn.logger.warn(line),
	};
}
