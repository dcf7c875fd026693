import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The key OpenAI clients send to an OpenAgents Chat Completions Trigger (`Authorization: Bearer <key>`), compared in
 * constant time. Not a key of any model provider: it is the one you give the clients of your agent flow.
 */
// Nothing to test it against: the key is checked by this package's trigger, not by a service.
// eslint-disable-next-line @n8n/community-nodes/credential-test-required
export class OpenAgentsChatCompletionsApi implements ICredentialType {
	name = 'openAgentsChatCompletionsApi';

	displayName = 'OpenAgents Chat Completions Key';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl =
		'https://www.npmjs.com/package/n8n-nodes-openagents#openai-compatible-endpoint';

	properties: INodeProperties[] = [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'The key clients must send as "Authorization: Bearer <key>" (in the openai SDK: apiKey; in Open WebUI: the connection\'s API key). Use a long random value, e.g. from "openssl rand -hex 32".',
		},
	];
}
