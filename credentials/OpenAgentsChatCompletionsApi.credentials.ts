import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The keys OpenAI clients send to an OpenAgents Chat Completions Trigger (`Authorization: Bearer <key>`), separated
 * by commas, each compared in constant time. Not keys of any model provider: they are the ones you give the clients
 * of your agent flow. Tested by the trigger (`openAgentsChatCompletionsKeyTest`): there is no service to ask, so the
 * test checks each key is strong.
 */
export class OpenAgentsChatCompletionsApi implements ICredentialType {
	name = 'openAgentsChatCompletionsApi';

	displayName = 'OpenAgents Chat Completions API';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-openagents/n8n-nodes-openagents#openai-compatible-endpoint';

	properties: INodeProperties[] = [
		{
			displayName: 'API Keys',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'The keys clients send as "Authorization: Bearer <key>" (in the openai SDK: apiKey; in Open WebUI: the connection\'s API key), separated by commas: one per client. Each key is its own trust domain: with Session Scope "Per Client Key" a client never continues another key\'s session. Use long random values, e.g. from "openssl rand -hex 32".',
		},
	];
}
