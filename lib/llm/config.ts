import type { ProviderLimits } from '../ratelimit';
import type { PriceTable } from './prices';
import type { ProviderSetting } from './providers';

/** A provider rate limit as configured on the credential. */
export interface RateLimitConfig {
	/** 'process': counted in each n8n process alone; 'shared': in the store at storeUrl, across every worker. */
	store: 'process' | 'shared';
	/** redis://, rediss://, postgres:// or postgresql:// URL of the shared store. */
	storeUrl?: string;
	limits: ProviderLimits;
	/** One limit for every model under this name; empty: one limit per base URL and model. */
	name?: string;
}

/** The fields of the `OpenAgents LLM API` credential, as lib/llm needs them. */
export interface LlmConfig {
	/** API root serving /chat/completions, /embeddings and /models, e.g. https://api.openai.com/v1 */
	baseUrl: string;
	/** May be empty for servers without auth (a placeholder is then sent, as the OpenAI SDK requires one). */
	apiKey: string;
	/** Which provider the base URL is (lib/llm/providers): absent or `auto` = detected from the base URL. */
	provider?: ProviderSetting;
	/** Azure OpenAI's `api-version` query parameter (the classic `/openai` routes need it; the v1 API does not). */
	apiVersion?: string;
	chatModel: string;
	embeddingModel: string;
	/** Chat models tried in order when the chat model keeps failing after its retries (see CallOptions.fallbacks). */
	fallbackChatModels?: string[];
	/** Per million tokens, in `currency`; with USD they are merged over DEFAULT_PRICES. */
	prices?: PriceTable;
	/** Currency of the prices (default USD). */
	currency?: string;
	rateLimit?: RateLimitConfig;
}

/** The credential's secrets, for redaction: the API key, and the rate-limit store URL (it may hold a password). */
export function secretsOf(config: Pick<LlmConfig, 'apiKey' | 'rateLimit'>): string[] {
	return [config.apiKey, config.rateLimit?.storeUrl ?? ''].filter(Boolean);
}
