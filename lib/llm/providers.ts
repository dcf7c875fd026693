/**
 * The providers the `OpenAgents LLM API` credential knows by name, what our side does differently for each, and how
 * the provider of a credential is found: its Provider setting, or (Auto-Detect, the default and what credentials saved
 * before the setting behave as) the host or port of its base URL. An unknown server is `generic`: every adaptation that
 * is safe without knowing the provider still applies (reasoning kept out of answers, tool-call ids repaired, usage
 * estimated when none is reported, refused parameters dropped and remembered).
 *
 * Each entry says what its README row says; `test/compat` checks the behaviour against a replay of the provider's wire
 * format (stack/model-server/profiles, which cite the documentation each one follows).
 */

/** The providers known by name; `generic`: any other OpenAI-compatible server. */
export type ProviderId =
	| 'openai'
	| 'azure'
	| 'ollama'
	| 'vllm'
	| 'lmstudio'
	| 'groq'
	| 'openrouter'
	| 'deepseek'
	| 'gemini'
	| 'mistral'
	| 'generic';

/** The credential's Provider setting: one provider, or `auto` (detect it from the base URL). */
export type ProviderSetting = ProviderId | 'auto';

export interface ProviderInfo {
	id: ProviderId;
	label: string;
	/** The key goes in `Authorization: Bearer <key>` or, for Azure OpenAI, in an `api-key` header. */
	auth: 'bearer' | 'api-key';
	/**
	 * How structured output (the Planner's plans and reviews) is asked for besides the schema in the prompt:
	 * `json_schema` / `json_object` as `response_format`, or `prompt` only (servers we do not know: today's behaviour).
	 */
	structuredOutput: 'json_schema' | 'json_object' | 'prompt';
	/**
	 * Embeddings: whether the API has them, the most inputs one request may carry, the vector encoding we ask for
	 * (`base64`: the OpenAI SDK's default; `float` for servers that ignore base64 — a server that answers floats to a
	 * base64 request anyway is caught by providerFetch).
	 */
	embeddings: { available: boolean; maxInputs?: number; encoding: 'base64' | 'float' };
	/** Whether the server has a `/rerank` endpoint (Cohere's request shape). */
	rerank: boolean;
	/** The credential settings the README gives for it. */
	settings: { baseUrl: string; apiKey: string; notes?: string };
}

const PROVIDERS: Record<ProviderId, ProviderInfo> = {
	openai: {
		id: 'openai',
		label: 'OpenAI',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: true, maxInputs: 2048, encoding: 'base64' },
		rerank: false,
		settings: { baseUrl: 'https://api.openai.com/v1', apiKey: 'required (`sk-…`)' },
	},
	azure: {
		id: 'azure',
		label: 'Azure OpenAI',
		auth: 'api-key',
		structuredOutput: 'json_schema',
		embeddings: { available: true, maxInputs: 2048, encoding: 'base64' },
		rerank: false,
		settings: {
			baseUrl:
				'`https://<resource>.openai.azure.com/openai/v1` (v1 API), or `https://<resource>.openai.azure.com/openai` with an API Version (deployment names as model names)',
			apiKey: 'required; sent as the `api-key` header',
			notes:
				'*API Version* (e.g. `2024-10-21`) is added as `?api-version=` for the `/openai` form; the v1 API needs none',
		},
	},
	ollama: {
		id: 'ollama',
		label: 'Ollama',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: true, encoding: 'base64' },
		rerank: false,
		settings: { baseUrl: 'http://localhost:11434/v1', apiKey: 'none (leave empty)' },
	},
	vllm: {
		id: 'vllm',
		label: 'vLLM',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: true, encoding: 'base64' },
		rerank: true,
		settings: {
			baseUrl: 'http://<host>:8000/v1',
			apiKey: 'the `--api-key` the server was started with, else empty',
			notes: 'not detectable from the URL: choose vLLM as Provider',
		},
	},
	lmstudio: {
		id: 'lmstudio',
		label: 'LM Studio',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: true, encoding: 'float' },
		rerank: false,
		settings: { baseUrl: 'http://localhost:1234/v1', apiKey: 'none (leave empty)' },
	},
	groq: {
		id: 'groq',
		label: 'Groq',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: false, encoding: 'base64' },
		rerank: false,
		settings: { baseUrl: 'https://api.groq.com/openai/v1', apiKey: 'required (`gsk_…`)' },
	},
	openrouter: {
		id: 'openrouter',
		label: 'OpenRouter',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: true, encoding: 'base64' },
		rerank: false,
		settings: {
			baseUrl: 'https://openrouter.ai/api/v1',
			apiKey: 'required (`sk-or-…`)',
			notes: 'model names with the vendor, e.g. `openai/gpt-4o-mini`',
		},
	},
	deepseek: {
		id: 'deepseek',
		label: 'DeepSeek',
		auth: 'bearer',
		structuredOutput: 'json_object',
		embeddings: { available: false, encoding: 'base64' },
		rerank: false,
		settings: { baseUrl: 'https://api.deepseek.com/v1', apiKey: 'required' },
	},
	gemini: {
		id: 'gemini',
		label: 'Gemini (OpenAI compatibility)',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: true, maxInputs: 100, encoding: 'base64' },
		rerank: false,
		settings: {
			baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai',
			apiKey: 'required (a Gemini API key)',
		},
	},
	mistral: {
		id: 'mistral',
		label: 'Mistral',
		auth: 'bearer',
		structuredOutput: 'json_schema',
		embeddings: { available: true, encoding: 'base64' },
		rerank: false,
		settings: { baseUrl: 'https://api.mistral.ai/v1', apiKey: 'required' },
	},
	generic: {
		id: 'generic',
		label: 'OpenAI-compatible server',
		auth: 'bearer',
		structuredOutput: 'prompt',
		embeddings: { available: true, encoding: 'base64' },
		rerank: true,
		settings: {
			baseUrl: 'the server’s API root, usually ending in /v1',
			apiKey: 'as the server needs',
		},
	},
};

/** The provider entry of `id`. */
export function providerInfo(id: ProviderId): ProviderInfo {
	return PROVIDERS[id];
}

/** Hosts that name their provider (a suffix match: `*.openai.azure.com`). */
const HOSTS: Array<[RegExp, ProviderId]> = [
	[/(^|\.)api\.openai\.com$/, 'openai'],
	[/\.openai\.azure\.com$|\.cognitiveservices\.azure\.com$|\.services\.ai\.azure\.com$/, 'azure'],
	[/(^|\.)openrouter\.ai$/, 'openrouter'],
	[/(^|\.)api\.groq\.com$/, 'groq'],
	[/(^|\.)api\.deepseek\.com$/, 'deepseek'],
	[/(^|\.)generativelanguage\.googleapis\.com$/, 'gemini'],
	[/(^|\.)api\.mistral\.ai$/, 'mistral'],
	[/(^|\.)ollama\.com$/, 'ollama'],
];

/** Default ports of local servers; vLLM's 8000 is too common a port to mean vLLM. */
const PORTS: Record<string, ProviderId> = { '11434': 'ollama', '1234': 'lmstudio' };

export interface DetectedProvider {
	id: ProviderId;
	/** How it was found, for the credential test: e.g. "from the host api.groq.com". */
	reason: string;
}

/** The provider a base URL names by its host (or a local server's default port); `generic` when it names none. */
export function detectProvider(baseUrl: string): DetectedProvider {
	let url: URL;
	try {
		url = new URL(baseUrl);
	} catch {
		return { id: 'generic', reason: 'the base URL is not a URL' };
	}
	const host = url.hostname.toLowerCase();
	for (const [pattern, id] of HOSTS)
		if (pattern.test(host)) return { id, reason: `from the host ${host}` };
	const id = PORTS[url.port];
	if (id) return { id, reason: `from port ${url.port} (${PROVIDERS[id].label}'s default)` };
	return { id: 'generic', reason: `${host} names no known provider` };
}

/** The provider of a credential: its Provider setting, else (absent or `auto`) detected from its base URL. */
export function resolveProvider(config: {
	baseUrl: string;
	provider?: ProviderSetting | string;
}): ProviderInfo {
	const setting = config.provider;
	if (setting && setting !== 'auto' && setting in PROVIDERS)
		return PROVIDERS[setting as ProviderId];
	return PROVIDERS[detectProvider(config.baseUrl).id];
}
