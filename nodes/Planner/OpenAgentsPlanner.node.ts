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
import codex from './OpenAgentsPlanner.node.json';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';
import { llmApiCredentialTest } from '../shared/clients/llmApi';
import { searchChatModels } from '../shared/methods/listSearch';
import { PICKER_NODE_VERSIONS } from '../shared/fields/locators';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';
import * as createPlan from './actions/createPlan';
import { route } from './actions/router';
import { traced } from '../shared/runtime/nodeTracing';
import {
	checkpointFields,
	goalField,
	optionsField,
	planField,
	processField,
	rolesField,
} from './fields';
import { chatModelInputs } from '../shared/ai/connections';

export class OpenAgentsPlanner implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Planner',
		name: 'openAgentsPlanner',
		icon: { light: 'file:planner.svg', dark: 'file:planner.dark.svg' },
		group: ['transform'],
		version: PICKER_NODE_VERSIONS,
		subtitle: '={{ $parameter["operation"] }}',
		description:
			'Turns a goal into a validated task plan and runs it: parallel tasks, checkpoints, resume after a crash',
		defaults: { name: 'Planner' },
		codex: nodeCodex(codex),
		usableAsTool: true,
		inputs: [
			NodeConnectionTypes.Main,
			...chatModelInputs,
			{ type: NodeConnectionTypes.AiTool, displayName: 'Tool', required: false },
		],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Result', 'Needs Clarification'],
		credentials: [
			{
				name: 'openAgentsLlmApi',
				displayName: 'LLM API (Optional)',
				required: false,
				testedBy: 'openAgentsLlmApiTest',
			},
			{
				name: 'openAgentsMemoryStore',
				displayName: 'Memory Store (Checkpoints)',
				required: true,
				testedBy: 'openAgentsMemoryStoreTest',
				displayOptions: {
					show: { operation: ['executePlan', 'planAndExecute'], store: ['credential'] },
				},
			},
			{ name: 'openAgentsTracingApi', displayName: 'Tracing (Optional)', required: false },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Create Plan',
						value: 'createPlan',
						action: 'Create a plan',
						description: 'Break a goal into a validated plan of tasks',
					},
					{
						name: 'Execute Plan',
						value: 'executePlan',
						action: 'Execute a plan',
						description: 'Run the tasks of a plan in parallel waves and combine the results',
					},
					{
						name: 'Plan and Execute',
						value: 'planAndExecute',
						action: 'Plan and execute a goal',
						description: 'Create a plan for the goal, then run it',
					},
				],
				default: 'planAndExecute',
			},
			goalField,
			processField,
			planField,
			...createPlan.description,
			rolesField,
			...checkpointFields,
			optionsField,
			retryPolicyProperty,
		],
	};

	methods = {
		credentialTest: {
			openAgentsMemoryStoreTest: memoryStoreCredentialTest,
			openAgentsLlmApiTest: llmApiCredentialTest,
		},
		listSearch: { searchChatModels },
	};

	/** `response`: set by n8n when it calls the node again after a plan approval wait (see actions/approval.ts). */
	async execute(
		this: IExecuteFunctions,
		response?: EngineResponse,
	): Promise<INodeExecutionData[][] | EngineRequest> {
		return traced(this, () => route.call(this, response));
	}
}
