import {
	NodeConnectionTypes,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsChatCompletionsTrigger.node.json';
import { chatCompletions } from './actions/chatCompletions';
import { clientKeyTest } from './actions/http';
import { models } from './actions/models';
import { limitsField, sessionScopeFields } from './fields';

/**
 * An OpenAI-compatible endpoint for an agent flow: `POST <path>/v1/chat/completions` starts the workflow with the
 * request as its item, and an OpenAgents Agent after it answers as a `chat.completion` (or SSE chunks with `stream`);
 * `GET <path>/v1/models` lists the Model Names. Clients (the openai SDKs, Open WebUI, LibreChat) use
 * `<n8n webhook URL>/<path>/v1` as their base URL and the credential's key as their API key.
 */
export class OpenAgentsChatCompletionsTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Chat Completions Trigger',
		name: 'openAgentsChatCompletionsTrigger',
		icon: { light: 'file:chatCompletions.svg', dark: 'file:chatCompletions.dark.svg' },
		group: ['trigger'],
		// 1.1: sessions are per client key by default (Session Scope).
		version: [1, 1.1],
		subtitle: '={{ "/" + $parameter["path"] + "/v1" }}',
		description:
			'Serves the workflow as an OpenAI-compatible Chat Completions API: any OpenAI client talks to its OpenAgents Agent',
		defaults: { name: 'Chat Completions' },
		codex: nodeCodex(codex),
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'openAgentsChatCompletionsApi',
				displayName: 'Client API Key',
				required: true,
				testedBy: 'openAgentsChatCompletionsKeyTest',
			},
			{ name: 'openAgentsN8nApi', displayName: 'n8n API (Stop on Disconnect)', required: false },
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				// n8n hands this node's HTTP response to the execution; the Agent's chunks reach the client through it.
				responseMode: 'streaming',
				path: '={{ $parameter["path"] }}/v1/chat/completions',
				isFullPath: true,
			},
			{
				name: 'default',
				httpMethod: 'GET',
				responseMode: 'onReceived',
				path: '={{ $parameter["path"] }}/v1/models',
				isFullPath: true,
			},
		],
		properties: [
			{
				displayName:
					'Connect an OpenAgents Agent (Conversation template) after this trigger: it takes the conversation from the request and its answer goes back in OpenAI\'s format. Clients use the production URL without "/chat/completions" as their base URL (e.g. https://n8n.example.com/webhook/my-agent/v1) and the credential\'s key as their API key. Add the n8n API credential to stop the execution when a client disconnects.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: 'agent',
				required: true,
				placeholder: 'my-agent',
				description:
					'Clients call this path followed by /v1/chat/completions under n8n’s webhook URL; use a path no other workflow uses',
			},
			{
				displayName: 'Model Names',
				name: 'modelNames',
				type: 'string',
				default: 'n8n-agent',
				required: true,
				description:
					'Comma-separated names clients may put in "model" (GET /v1/models lists them); another name is refused with 404 model_not_found. The item carries the name the client chose.',
			},
			...sessionScopeFields,
			limitsField,
		],
	};

	methods = { credentialTest: { openAgentsChatCompletionsKeyTest: clientKeyTest } };

	/**
	 * The endpoint is n8n's own webhook URL: nothing outside n8n is checked, registered or removed when n8n activates or
	 * deactivates the workflow (n8n calls create only when checkExists answers false).
	 */
	webhookMethods = {
		default: {
			checkExists: async () => true,
			create: async () => true,
			delete: async () => true,
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return this.getRequestObject().method === 'GET'
			? models.call(this)
			: chatCompletions.call(this);
	}
}
