/** The `OpenAgents LLM API` credential as lib/llm's LlmConfig. */
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeProperties,
	ISupplyDataFunctions,
} from 'n8n-workflow';

import {
	DEFAULT_CURRENCY,
	DEFAULT_PRICES,
	EXECUTION_USAGE_KEYS,
	parsePriceTable,
	rateLimitKey,
	secretsOf,
	UsageTracker,
	type AgentBudget,
	type CallOptions,
	type ExecutionUsageField,
	type LlmConfig,
	type RateLimit,
	type RateLimitConfig,
	type UsageTotals,
} from '../../lib/llm';
import {
	checkLimits,
	hasLimits,
	processRateLimiter,
	RateLimitConfigError,
} from '../../lib/ratelimit';
import { getRetryPolicy } from './retryPolicy';

type Context = IExecuteFunctions | ISupplyDataFunctions;

/** Default per-attempt limit for one model, embeddings or rerank request, ms; a slower attempt is aborted and retried. */
export const LLM_CALL_TIMEOUT_MS = 120_000;

/** Hints for the codes of lib/llm's modelFailureCode. */
export const MODEL_FAILURE_HINTS = {
	rate_limited:
		'No rate-limit slot within the Model Call Timeout: raise the limits on the LLM API credential (if the provider allows), the timeout, or spread the work.',
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

/** A credential number field: 0 when empty (credentials saved before the field existed). */
const limitField = (value: unknown) => (value === undefined || value === '' ? 0 : Number(value));

/** The credential's rate limit, or undefined when it is off. */
function rateLimitConfig(c: ICredentialDataDecryptedObject): RateLimitConfig | undefined {
	const store = c.rateLimitStore;
	if (store !== 'process' && store !== 'shared') return undefined;
	return {
		store,
		storeUrl: store === 'shared' ? String(c.rateLimitStoreUrl ?? '') : undefined,
		name: String(c.rateLimitName ?? '') || undefined,
		limits: {
			requestsPerMinute: limitField(c.requestsPerMinute),
			tokensPerMinute: limitField(c.tokensPerMinute),
			maxConcurrent: limitField(c.maxConcurrentRequests),
		},
	};
}

/** Throws Error naming what is wrong with the Model Prices JSON. */
export async function llmConfigFromCredential(
	fn: Context | ILoadOptionsFunctions,
): Promise<LlmConfig> {
	const c = await fn.getCredentials('openAgentsLlmApi');
	return {
		baseUrl: String(c.baseUrl ?? '').replace(/\/+$/, ''),
		apiKey: String(c.apiKey ?? ''),
		chatModel: String(c.chatModel ?? ''),
		embeddingModel: String(c.embeddingModel ?? ''),
		fallbackChatModels: String(c.fallbackChatModels ?? '')
			.split(',')
			.map((m) => m.trim())
			.filter(Boolean),
		prices: parsePriceTable(c.prices ?? {}),
		currency: String(c.currency ?? '').trim() || DEFAULT_CURRENCY,
		rateLimit: rateLimitConfig(c),
	};
}

/** A usage tracker pricing calls with the credential's prices (over the built-in ones for USD), else the built-in. */
export function usageTracker(llm?: LlmConfig): UsageTracker {
	if (!llm) return new UsageTracker();
	const currency = llm.currency ?? DEFAULT_CURRENCY;
	const base = currency === DEFAULT_CURRENCY ? DEFAULT_PRICES : {};
	return new UsageTracker({ ...base, ...llm.prices }, currency);
}

/**
 * The credential's rate limit for lib/llm calls, or undefined when it is off. Throws RateLimitConfigError for
 * negative limits and Error for a store URL that is missing or of another scheme, at the first call.
 */
function rateLimitFor(llm: LlmConfig, log: (line: string) => void): RateLimit | undefined {
	const config = llm.rateLimit;
	if (!config || !hasLimits(config.limits)) {
		if (config) checkLimits(config.limits);
		return undefined;
	}
	if (config.store === 'shared' && !config.storeUrl)
		throw new RateLimitConfigError(
			'The LLM API credential shares its rate limit, but its Rate Limit Store URL is empty',
		);
	return {
		limiter: processRateLimiter(config.storeUrl, config.limits, log),
		keyFor: (model) => rateLimitKey(llm.baseUrl, model, config.name),
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
	const log = (line: string) => fn.logger.warn(line);
	return {
		policy: getRetryPolicy(fn, itemIndex),
		signal: fn.getExecutionCancelSignal(),
		timeoutMs: seconds > 0 ? seconds * 1000 : LLM_CALL_TIMEOUT_MS,
		secrets: llm ? secretsOf(llm) : [],
		log,
		rateLimit: llm && rateLimitFor(llm, log),
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
			displayName: 'Max Cost (Budget)',
			name: 'maxCost',
			...number,
			typeOptions: { minValue: 0, numberPrecision: 4 },
			description: `${covers}: once the model calls cost this much (in the LLM credential's currency, USD by default), ${stop}. 0 = no limit.`,
		},
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

/** Adds `usage` to the execution's custom data totals (no-op where there is no execution data). */
export function addUsageToExecution(fn: IExecuteFunctions, usage: UsageTotals): void {
	let customData;
	try {
		customData = fn.customData;
	} catch {
		return; // no execution data (e.g. the node runs as a tool of another agent)
	}
	for (const [field, key] of Object.entries(EXECUTION_USAGE_KEYS) as Array<
		[ExecutionUsageField, string]
	>) {
		const sum = Number(customData.get(key) ?? 0) + (usage[field] ?? 0);
		customData.set(key, String(field === 'cost' ? Math.round(sum * 1e8) / 1e8 : sum));
	}
}
