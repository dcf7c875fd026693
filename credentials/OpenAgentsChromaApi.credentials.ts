import type {
	ICredentialDataDecryptedObject,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

import { chromaAuthHeaders } from '../lib/rag/chroma-auth';

/**
 * A Chroma server (HTTP API v2, Chroma >= 1.0). The credential test reads the configured tenant's database,
 * which checks in one request that the server answers, the token is accepted and tenant + database exist.
 */
export class OpenAgentsChromaApi implements ICredentialType {
	name = 'openAgentsChromaApi';

	displayName = 'OpenAgents Chroma API';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl = 'https://docs.trychroma.com/deployment';

	properties: INodeProperties[] = [
		{
			displayName: 'URL',
			name: 'url',
			type: 'string',
			default: 'http://localhost:8000',
			required: true,
			description: 'Chroma server URL, without /api/v2',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{ name: 'None', value: 'none' },
				{ name: 'Bearer Token (Authorization Header)', value: 'bearer' },
				{ name: 'Token in X-Chroma-Token Header', value: 'xChromaToken' },
			],
			default: 'none',
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['bearer', 'xChromaToken'] } },
		},
		{
			displayName: 'Tenant',
			name: 'tenant',
			type: 'string',
			default: 'default_tenant',
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: 'default_database',
		},
	];

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const headers = chromaAuthHeaders(credentials);
		return { ...requestOptions, headers: { ...requestOptions.headers, ...headers } };
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.url.replace(/\\/+$/, "")}}',
			url: '=/api/v2/tenants/{{encodeURIComponent($credentials.tenant)}}/databases/{{encodeURIComponent($credentials.database)}}',
			method: 'GET',
		},
	};
}
