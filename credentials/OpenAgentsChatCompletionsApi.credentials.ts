import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The key OpenAI clients send to an OpenAgents Chat Completions Trigger (`Authorization: Bearer <key>`), compared in
 * constant time. Not a key of any model provider: it is the one you give the clients of your agent flow. Tested by the
 * trigger (`openAgentsChatCompletionsKeyTest`): there is no service to ask, so the test checks the key is strong.
 */
export class OpenAgentsChatCompletionsApi implements ICredentialType {
	name = 'openAgentsChatCompletionsApi';

	displayName = 'OpenAgents Chat Completions API';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-openagents/n8n-nodes-openagents#openai-compatible-endpoint';

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
