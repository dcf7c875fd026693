import {
	NodeConnectionTypes,
	type INodeType,
	type INodeTypeDescription,
	type SupplyData,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsApproval.node.json';
import { APPROVAL_GATE } from '../shared/ai/approval';
import { execute } from './actions/wait';
import { webhook } from './actions/decide';

/**
 * Human approval for an OpenAgents Agent's tool calls. Connected to the Agent's Tool input it is not a tool: when the
 * model calls a tool listed in the Agent's "Require Approval For", the Agent has n8n run this node, which puts the
 * execution into n8n's waiting state until a reviewer approves, edits or rejects the call on the approval page.
 */
export class OpenAgentsApproval implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Approval',
		name: 'openAgentsApproval',
		icon: { light: 'file:approval.svg', dark: 'file:approval.dark.svg' },
		group: ['transform'],
		version: [1],
		subtitle: 'Human review of tool calls',
		description:
			"A reviewer approves, edits or rejects an OpenAgents Agent's tool calls before they run; the execution waits",
		defaults: { name: 'Approval' },
		codex: nodeCodex(codex),
		inputs: [],
		outputs: [NodeConnectionTypes.AiTool],
		outputNames: ['Approval'],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'GET',
				responseMode: 'onReceived',
				path: '',
				restartWebhook: true,
				isFullPath: true,
			},
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: '',
				restartWebhook: true,
				isFullPath: true,
			},
		],
		properties: [
			{
				displayName:
					"Connect this node to the Tool input of an OpenAgents Agent (then list the tools in its Options → Require Approval For) or Planner (Options → Approve Plan Before Running). The execution waits (saved by n8n, any worker resumes it) until a reviewer decides on the approval page, whose link is in this node's output and in the notification.",
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Notification URL',
				name: 'notificationUrl',
				type: 'string',
				default: '',
				placeholder: 'https://hooks.slack.com/services/…',
				description:
					'Optional. Receives a POST with the request as JSON when approval is needed: "text" (a summary with the page link, shown as it is by Slack and Microsoft Teams incoming webhooks), approvalUrl, calls, reasoning, expiresAt, executionUrl.',
			},
		],
	};

	async supplyData(): Promise<SupplyData> {
		return { response: APPROVAL_GATE };
	}

	execute = execute;

	webhook = webhook;

	/**
	 * Its webhooks are n8n's resume webhooks of a waiting execution, served by n8n itself: nothing outside n8n is checked, registered or removed when n8n activates or
	 * deactivates the workflow (n8n calls create only when checkExists answers false).
	 */
	webhookMethods = {
		default: {
			checkExists: async () => true,
			create: async () => true,
			delete: async () => true,
		},
	};
}
