/** The `OpenAgents LLM API` credential as lib/llm's LlmConfig, and the call options of an item's model calls. */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import {
	createEmbeddings,
	DEFAULT_CURRENCY,
	embedTexts,
	parsePriceTable,
	rateLimitKey,
	secretsOf,
	type CallOptions,
	type LlmConfig,
	type RateLimit,
	type RateLimitConfig,
	type UsageTracker,
} from '../../../lib/llm';
import { probeProvider } from '../../../lib/llm/probe';
import type { ProviderSetting } from '../../../lib/llm/providers';
import {
	checkLimits,
	hasLimits,
	processRateLimiter,
	RateLimitConfigError,
} from '../../../lib/ratelimit';
import { modelTimeoutMs } from '../fields/modelCalls';
import type { ItemSettings, NodeFunctions } from '../runtime/itemSettings';

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
	context_length_exceeded:
		"The prompt is longer than the model's context window: shorten the input, the history (Memory's context window) or the retrieved passages (Top K), or use a model with a larger window.",
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

/**
 * The credential's data as lib/llm's LlmConfig. Credentials saved before the Provider setting existed have none: their
 * provider is detected from the base URL, as with Auto-Detect. Throws Error naming what is wrong with the Model Prices
 * JSON.
 */
export function llmConfigFromData(c: ICredentialDataDecryptedObject): LlmConfig {
	const apiVersion = String(c.apiVersion ?? '').trim();
	return {
		baseUrl: String(c.baseUrl ?? '').replace(/\/+$/, ''),
		apiKey: String(c.apiKey ?? ''),
		provider: (String(c.provider ?? '') || 'auto') as ProviderSetting,
		...(apiVersion ? { apiVersion } : {}),
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

/** Throws Error naming what is wrong with the Model Prices JSON. */
export async function llmConfigFromCredential(
	fn: NodeFunctions | ILoadOptionsFunctions,
): Promise<LlmConfig> {
	return llmConfigFromData(await fn.getCredentials('openAgentsLlmApi'));
}

/**
 * n8n's test of the OpenAgents LLM API credential (`testedBy: 'openAgentsLlmApiTest'` on every node that uses it):
 * GET /models with the provider's auth; the message names the provider (set, or how it was detected), the models
 * listed and the capabilities found, or why the server refused.
 */
export async function llmApiCredentialTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	let config: LlmConfig;
	try {
		config = llmConfigFromData(credential.data ?? {});
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
	const report = await probeProvider(config);
	return { status: report.ok ? 'OK' : 'Error', message: report.message };
}

/** The OpenAgents LLM API credential, or undefined when none is selected (nodes where it is optional). */
export async function optionalLlmConfig(fn: IExecuteFunctions): Promise<LlmConfig | undefined> {
	const selected = fn.getNode().credentials?.openAgentsLlmApi;
	return selected ? llmConfigFromCredential(fn) : undefined;
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
 * Call Timeout where the node has it, else 120 s), the key to redact and the credential's rate limit (when `llm` is
 * given), n8n's log.
 */
export function llmCallOptions(settings: ItemSettings, llm?: LlmConfig): CallOptions {
	return {
		policy: settings.retryPolicy,
		signal: settings.signal,
		timeoutMs: modelTimeoutMs(settings.options),
		secrets: llm ? secretsOf(llm) : [],
		log: settings.log,
		rateLimit: llm && rateLimitFor(llm, settings.log),
	};
}

/**
 * Embedding functions for long-term memory (lib/memory/facts' embed and embedQuery): the credential's embedding
 * model, or `model`, under the item's call options (Retry Policy, timeout, rate limit), usage recorded in `usage`.
 */
export function factEmbeddings(
	llm: LlmConfig,
	settings: ItemSettings,
	options: { model?: string; usage?: UsageTracker } = {},
): {
	embed: (texts: string[]) => Promise<number[][]>;
	embedQuery: (texts: string[]) => Promise<number[][]>;
} {
	const call = { ...llmCallOptions(settings, llm), usage: options.usage };
	const embedFor = (purpose: 'document' | 'query') => {
		const embeddings = createEmbeddings(llm, { model: options.model || undefined, purpose });
		return async (texts: string[]) => (await embedTexts(embeddings, texts, call)).vectors;
	};
	return { embed: embedFor('document'), embedQuery: embedFor('query') };
}
