import type { IAuthenticateGeneric, Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Any OpenAI-compatible chat/embeddings API: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, OpenRouter, Groq,
 * DeepSeek, Gemini (OpenAI compatibility), Mistral, ... The base URL is the API root that serves `/chat/completions`,
 * `/embeddings` and `/models`. Provider (Auto-Detect by default, also for credentials saved before the setting existed)
 * says whose dialect it speaks (lib/llm/providers.ts). Tested by the nodes' `openAgentsLlmApiTest`
 * (nodes/shared/clients/llmApi.ts): it names the provider it detected and the capabilities it found.
 */
export class OpenAgentsLlmApi implements ICredentialType {
	name = 'openAgentsLlmApi';

	displayName = 'OpenAgents LLM API';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-openagents/n8n-nodes-openagents#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.openai.com/v1',
			required: true,
			placeholder: 'https://api.openai.com/v1',
			description:
				'Root of the OpenAI-compatible API, usually ending in /v1 (e.g. http://localhost:11434/v1 for Ollama, http://localhost:8000/v1 for vLLM)',
		},
		{
			displayName: 'Provider',
			name: 'provider',
			type: 'options',
			default: 'auto',
			options: [
				{
					name: 'Auto-Detect',
					value: 'auto',
					description:
						'From the base URL: api.openai.com, *.openai.azure.com, openrouter.ai, api.groq.com, api.deepseek.com, generativelanguage.googleapis.com, api.mistral.ai, port 11434 (Ollama), port 1234 (LM Studio); any other server is treated as a generic OpenAI-compatible one',
				},
				{ name: 'Azure OpenAI', value: 'azure' },
				{ name: 'DeepSeek', value: 'deepseek' },
				{ name: 'Gemini (OpenAI Compatibility)', value: 'gemini' },
				{ name: 'Groq', value: 'groq' },
				{ name: 'LM Studio', value: 'lmstudio' },
				{ name: 'Mistral', value: 'mistral' },
				{ name: 'Ollama', value: 'ollama' },
				{ name: 'OpenAI', value: 'openai' },
				{ name: 'OpenRouter', value: 'openrouter' },
				{ name: 'Other OpenAI-Compatible Server', value: 'generic' },
				{ name: 'vLLM', value: 'vllm' },
			],
			description:
				'Whose API this is, so requests and answers are adapted to its dialect (auth header, reasoning, usage, errors, rate-limit headers, refused parameters)',
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Sent as a Bearer token (Azure OpenAI: as the api-key header). Leave empty for local servers that need no key.',
		},
		{
			displayName: 'API Version',
			name: 'apiVersion',
			type: 'string',
			default: '',
			placeholder: '2024-10-21',
			description:
				"Azure OpenAI only: added as ?api-version= to every request. Needed with a base URL ending in /openai (model names are then deployment names); leave empty for Azure's v1 API (/openai/v1).",
			displayOptions: { show: { provider: ['auto', 'azure'] } },
		},
		{
			displayName: 'Default Chat Model',
			name: 'chatModel',
			type: 'string',
			default: 'gpt-4o-mini',
			description:
				'Model ID used by nodes that do not name their own (e.g. gpt-4o-mini, llama3.1:8b)',
		},
		{
			displayName: 'Default Embedding Model',
			name: 'embeddingModel',
			type: 'string',
			default: 'text-embedding-3-small',
			description:
				'Embedding model ID used by the Knowledge Base (e.g. text-embedding-3-small, nomic-embed-text)',
		},
		{
			displayName: 'Fallback Chat Models',
			name: 'fallbackChatModels',
			type: 'string',
			default: '',
			placeholder: 'gpt-4.1-mini, gpt-4o-mini',
			description:
				'Comma-separated model IDs tried in order when the chat model keeps failing after its retries (timeouts, connection failures, 429, 5xx). Used by nodes that take their chat model from this credential.',
		},
		{
			displayName: 'Rate Limit',
			name: 'rateLimitStore',
			type: 'options',
			default: 'none',
			options: [
				{ name: 'Off', value: 'none', description: 'Every call goes out at once' },
				{
					name: 'This n8n Process',
					value: 'process',
					description: 'Each n8n process (main or worker) keeps to the limits on its own',
				},
				{
					name: 'Shared by All Workers',
					value: 'shared',
					description:
						'All workers keep to one limit together, counted in Redis or Postgres (queue mode)',
				},
			],
			description:
				"Keep model, embedding and rerank requests under the provider's limits, and wait out its 429s",
		},
		// The URL may carry the store's password (redis://:password@host), so it is stored and shown as a secret.
		{
			displayName: 'Rate Limit Store URL',
			name: 'rateLimitStoreUrl',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: 'redis://:password@redis:6379/0',
			description:
				"Where the workers' shared counters live: redis://, rediss:// or postgres:// URL (n8n's own queue Redis or database works). If it cannot be reached, each process limits on its own and the items say so.",
			displayOptions: { show: { rateLimitStore: ['shared'] } },
		},
		{
			displayName: 'Requests per Minute',
			name: 'requestsPerMinute',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: "The provider's request limit for one model; 0 = no limit",
			displayOptions: { show: { rateLimitStore: ['process', 'shared'] } },
		},
		// A number of model tokens, not an auth token.
		{
			displayName: 'Tokens per Minute',
			name: 'tokensPerMinute',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description:
				"The provider's token limit for one model (prompt estimated before a call, corrected after it); 0 = no limit",
			displayOptions: { show: { rateLimitStore: ['process', 'shared'] } },
		},
		{
			displayName: 'Max Concurrent Requests',
			name: 'maxConcurrentRequests',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: 'Requests to one model in flight at once; 0 = no limit',
			displayOptions: { show: { rateLimitStore: ['process', 'shared'] } },
		},
		{
			displayName: 'Limit Name',
			name: 'rateLimitName',
			type: 'string',
			default: '',
			description:
				'Count every model of this credential under one limit with this name (and share it with other credentials that give the same name). Empty: one limit per base URL and model.',
			displayOptions: { show: { rateLimitStore: ['process', 'shared'] } },
		},
		{
			displayName: 'Model Prices',
			name: 'prices',
			type: 'json',
			default: '{}',
			description:
				'Price per million tokens by model ID, e.g. {"my-model": {"input": 0.5, "output": 1.5, "cachedInput": 0.25}}. Added to (and overriding) the built-in OpenAI prices when the currency is USD.',
		},
		{
			displayName: 'Currency',
			name: 'currency',
			type: 'string',
			default: 'USD',
			description:
				'Currency of the prices and of usage.cost. With another currency than USD, only the Model Prices above are used.',
		},
	];

	// Requests n8n itself makes with this credential (its HTTP Request node): the key as Bearer token. Our clients
	// authenticate as the provider wants (Azure OpenAI: the api-key header), see lib/llm/provider-fetch.ts.
	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
	};
}
