import {
	NodeConnectionTypes,
	type EngineRequest,
	type EngineResponse,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsAgent.node.json';
import { searchKnowledgeBases, searchChatModels } from '../shared/methods/listSearch';
import { PICKER_NODE_VERSIONS } from '../shared/fields/locators';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';
import { llmApiCredentialTest } from '../shared/clients/llmApi';
import * as conversation from './actions/conversation';
import { route } from './actions/router';
import { traced } from '../shared/runtime/nodeTracing';
import * as task from './actions/task';
import { builtInToolFields, optionsField, systemMessageField } from './fields';
import { chatModelInputs } from '../shared/ai/connections';

export class OpenAgentsAgent implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Agent',
		name: 'openAgentsAgent',
		icon: { light: 'file:agent.svg', dark: 'file:agent.dark.svg' },
		group: ['transform'],
		version: PICKER_NODE_VERSIONS,
		subtitle: '={{ $parameter["template"] }}',
		description:
			'Tool-calling LLM agent: conversation or ordered task steps, with retries, budgets, structured output and token usage',
		defaults: { name: 'Agent' },
		codex: nodeCodex(codex),
		usableAsTool: true,
		inputs: [
			NodeConnectionTypes.Main,
			...chatModelInputs,
			{
				type: NodeConnectionTypes.AiMemory,
				displayName: 'Memory',
				maxConnections: 1,
				required: false,
			},
			{ type: NodeConnectionTypes.AiTool, displayName: 'Tool', required: false },
		],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'openAgentsLlmApi',
				displayName: 'LLM API (Optional)',
				required: false,
				testedBy: 'openAgentsLlmApiTest',
			},
			{
				name: 'openAgentsChromaApi',
				displayName: 'Chroma (Knowledge Base Search)',
				required: true,
				displayOptions: { show: { knowledgeBaseSearch: [true] } },
			},
			{
				name: 'openAgentsMemoryStore',
				displayName: 'Memory Store (Memory Tools, Long-Term Memory)',
				required: true,
				testedBy: 'openAgentsMemoryStoreTest',
				// The Store field is shown only with the memory tools or long-term memory on.
				displayOptions: { show: { store: ['credential'] } },
			},
			{ name: 'openAgentsTracingApi', displayName: 'Tracing (Optional)', required: false },
		],
		properties: [
			{
				displayName:
					'Model: a chat model sub-node connected to the Chat Model input (another on Fallback Model answers when it keeps failing); without one, the LLM API credential',
				name: 'modelNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Template',
				name: 'template',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Conversation',
						value: 'conversation',
						description:
							'Answer a user message, calling tools as needed (with chat memory if connected)',
					},
					{
						name: 'Task',
						value: 'task',
						description: 'Carry out ordered steps, each with its own timeout and retries',
					},
				],
				default: 'conversation',
			},
			systemMessageField,
			...conversation.description,
			...task.description,
			...builtInToolFields,
			optionsField,
			retryPolicyProperty,
		],
	};

	methods = {
		credentialTest: {
			openAgentsMemoryStoreTest: memoryStoreCredentialTest,
			openAgentsLlmApiTest: llmApiCredentialTest,
		},
		listSearch: { searchKnowledgeBases, searchChatModels },
	};

	/** `response`: set by n8n when it calls the node again after an approval wait (see actions/approval.ts). */
	async execute(
		this: IExecuteFunctions,
		response?: EngineResponse,
	): Promise<INodeExecutionData[][] | EngineRequest> {
		return traced(this, () => route.call(this, response));
	}
}
