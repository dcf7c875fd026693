import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/**
 * Any OpenAI-compatible chat/embeddings API: OpenAI, Azure OpenAI (v1 route), Ollama, vLLM, LM Studio,
 * OpenRouter, Groq, ... The base URL is the API root that serves `/chat/completions`, `/embeddings` and `/models`.
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
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as a Bearer token. Leave empty for local servers that need no key.',
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

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/models',
			method: 'GET',
		},
	};
}
