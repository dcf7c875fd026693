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

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-openagents#credentials';

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
