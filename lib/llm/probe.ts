/**
 * The `OpenAgents LLM API` credential test: which provider the credential talks to (its Provider setting, or how it
 * was detected), whether the server accepts the key (GET /models, where the provider has it), and what the model list
 * says the models can do. The report's `message` is what n8n shows.
 */
import { messageOf } from '../retry';
import type { LlmConfig } from './config';
import { providerFetch } from './provider-fetch';
import {
	detectProvider,
	providerInfo,
	resolveProvider,
	type ProviderId,
	type ProviderInfo,
} from './providers';
import { redactText } from './redact';

export interface ProviderReport {
	ok: boolean;
	provider: ProviderId;
	/** How the provider was found: "set on the credential", "from the host api.groq.com", … */
	source: string;
	/** Model ids GET /models listed (empty when it failed or is not there). */
	models: string[];
	/** What the provider and its model list say is available, e.g. "tools", "embeddings", "rerank". */
	capabilities: string[];
	/** The credential's default models missing from the list. */
	missing: string[];
	/** One paragraph for n8n's credential dialog. */
	message: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- model list entries of every provider, read by field
type ModelEntry = Record<string, any>;

/** The provider a model list points to when the base URL named none (vLLM and Ollama say who owns their models). */
function providerOfList(models: ModelEntry[]): ProviderId | undefined {
	const owners = new Set(models.map((m) => String(m.owned_by ?? '').toLowerCase()));
	if (owners.has('vllm')) return 'vllm';
	if (owners.has('library') || owners.has('ollama')) return 'ollama';
	if (models.some((m) => Array.isArray(m.supported_parameters))) return 'openrouter';
	if (models.some((m) => String(m.id).startsWith('models/gemini'))) return 'gemini';
	return undefined;
}

/** Capabilities the model list states for `model` (OpenRouter's supported_parameters, Mistral's capabilities). */
function listedCapabilities(entry: ModelEntry | undefined): string[] {
	if (!entry) return [];
	const out: string[] = [];
	const params: unknown = entry.supported_parameters;
	if (Array.isArray(params)) {
		if (params.includes('tools')) out.push('tools');
		if (params.includes('structured_outputs') || params.includes('response_format'))
			out.push('structured output');
		if (params.includes('reasoning') || params.includes('include_reasoning')) out.push('reasoning');
	}
	const caps = entry.capabilities;
	if (caps && typeof caps === 'object' && !Array.isArray(caps)) {
		if (caps.function_calling) out.push('tools');
		if (caps.completion_chat) out.push('chat');
		if (caps.vision) out.push('vision');
	}
	const context = entry.context_window ?? entry.max_model_len ?? entry.context_length;
	if (typeof context === 'number') out.push(`context ${context} tokens`);
	return [...new Set(out)];
}

/** What the package uses of the provider, as its entry says. */
function providerCapabilities(info: ProviderInfo): string[] {
	return [
		info.structuredOutput === 'prompt'
			? 'structured output in the prompt'
			: `structured output (${info.structuredOutput})`,
		info.embeddings.available ? 'embeddings' : 'no embeddings',
		info.rerank ? 'rerank' : 'no rerank',
	];
}

function sourceOf(config: Pick<LlmConfig, 'baseUrl' | 'provider'>): string {
	if (config.provider && config.provider !== 'auto') return 'set on the credential';
	return `detected ${detectProvider(config.baseUrl).reason}`;
}

/**
 * For a server without GET /models (some gateways): a one-token chat completion with the default chat model says
 * whether the base URL and key work.
 */
async function probeChat(
	config: LlmConfig,
	name: string,
	modelsUrl: string,
	timeoutMs: number,
	secrets: string[],
): Promise<ProviderReport> {
	const info = resolveProvider(config);
	const url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
	const report = (ok: boolean, message: string): ProviderReport => ({
		ok,
		provider: info.id,
		source: sourceOf(config),
		models: [],
		capabilities: ok ? providerCapabilities(info) : [],
		missing: [],
		message: redactText(message, secrets),
	});
	try {
		const response = await providerFetch(config, fetch)(url, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
			},
			body: JSON.stringify({
				model: config.chatModel,
				messages: [{ role: 'user', content: 'ping' }],
				max_tokens: 1,
			}),
			signal: AbortSignal.timeout(timeoutMs),
		});
		const text = await response.text();
		if (response.ok)
			return report(
				true,
				`Connected to ${name}. GET ${modelsUrl} is not served (404); a one-token chat completion with ${config.chatModel} answered. Capabilities: ${providerCapabilities(info).join(', ')}.`,
			);
		if (response.status === 401 || response.status === 403)
			return report(
				false,
				`${name} refused the API key (HTTP ${response.status}): ${text.slice(0, 200)}`,
			);
		return report(
			false,
			`${name}: GET ${modelsUrl} answered 404 and a chat completion with ${config.chatModel} HTTP ${response.status}: ${text.slice(0, 200)}. Check the base URL (the API root, usually ending in /v1) and the model.`,
		);
	} catch (error) {
		return report(false, `${name}: cannot reach ${url}: ${messageOf(error)}`);
	}
}

/**
 * Probes the credential's server: GET {baseUrl}/models with the provider's auth (a server without it: a one-token
 * chat completion), within `timeoutMs` (default 15 s). Never throws: a failure is a report with ok false and the cause
 * (the API key redacted).
 */
export async function probeProvider(
	config: LlmConfig,
	{ timeoutMs = 15_000 }: { timeoutMs?: number } = {},
): Promise<ProviderReport> {
	const info = resolveProvider(config);
	const source = sourceOf(config);
	const name = `${info.label} (${source})`;
	const secrets = config.apiKey ? [config.apiKey] : [];
	const url = `${config.baseUrl.replace(/\/+$/, '')}/models`;
	let entries: ModelEntry[] = [];
	try {
		const response = await providerFetch(config, fetch)(url, {
			headers: {
				accept: 'application/json',
				...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
			},
			signal: AbortSignal.timeout(timeoutMs),
		});
		const text = await response.text();
		if (response.status === 401 || response.status === 403)
			return failed(`${name} refused the API key (HTTP ${response.status}): ${text.slice(0, 200)}`);
		if (response.status === 404) return await probeChat(config, name, url, timeoutMs, secrets);
		if (!response.ok)
			return failed(`${name}: GET ${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
		const data = (JSON.parse(text) as { data?: unknown }).data;
		if (!Array.isArray(data))
			return failed(`${name}: GET ${url} did not answer a model list (no "data" array)`);
		entries = data.filter((m): m is ModelEntry => typeof m?.id === 'string');
	} catch (error) {
		return failed(`${name}: cannot reach ${url}: ${messageOf(error)}`);
	}
	const ids = entries.map((m) => String(m.id).replace(/^models\//, ''));
	const wanted = [config.chatModel, config.embeddingModel].filter(Boolean);
	const missing = wanted.filter((m) => !ids.includes(m));
	const chatEntry = entries.find((m) => String(m.id).replace(/^models\//, '') === config.chatModel);
	const capabilities = [
		...new Set([...listedCapabilities(chatEntry), ...providerCapabilities(info)]),
	];
	const guess = info.id === 'generic' ? providerOfList(entries) : undefined;
	const parts = [
		`Connected to ${name}.`,
		`GET /models lists ${ids.length} model${ids.length === 1 ? '' : 's'}${ids.length ? ` (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})` : ''}.`,
		missing.length ? `Not listed: ${missing.join(', ')}.` : '',
		`Capabilities: ${capabilities.join(', ')}.`,
		guess
			? `The model list looks like ${providerInfo(guess).label}'s: choose it as the credential's Provider.`
			: '',
	];
	return {
		ok: true,
		provider: info.id,
		source,
		models: ids,
		capabilities,
		missing,
		message: redactText(parts.filter(Boolean).join(' '), secrets),
	};

	function failed(message: string): ProviderReport {
		return {
			ok: false,
			provider: info.id,
			source,
			models: [],
			capabilities: [],
			missing: [],
			message: redactText(message, secrets),
		};
	}
}
