import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/** n8n's public REST API (`/api/v1`), used by the Job Monitor to read and retry executions. */
export class OpenAgentsN8nApi implements ICredentialType {
	name = 'openAgentsN8nApi';

	displayName = 'OpenAgents Instance API';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl = 'https://docs.n8n.io/api/authentication/';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'http://localhost:5678/api/v1',
			required: true,
			description: "URL of n8n's public API, ending in /api/v1",
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Created in n8n under Settings > n8n API',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { 'X-N8N-API-KEY': '={{$credentials.apiKey}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/workflows',
			qs: { limit: 1 },
			method: 'GET',
		},
	};
}
