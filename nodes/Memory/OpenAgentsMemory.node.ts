import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsMemory.node.json';
import * as append from './actions/append';
import * as appendMessage from './actions/appendMessage';
import * as del from './actions/delete';
import * as get from './actions/get';
import * as getMessages from './actions/getMessages';
import * as increment from './actions/increment';
import * as listKeys from './actions/listKeys';
import { route } from './actions/router';
import { traced } from '../shared/runtime/nodeTracing';
import * as set from './actions/set';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';
import { addressFields, optionsField, storeField } from '../shared/fields/memory';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';

export class OpenAgentsMemory implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Memory',
		name: 'openAgentsMemory',
		icon: { light: 'file:memory.svg', dark: 'file:memory.dark.svg' },
		group: ['transform'],
		version: [1],
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["scope"] }}',
		description:
			'Scoped, tenant-isolated memory shared by all queue-mode workers: key-value, counters, lists and conversations',
		defaults: { name: 'Memory' },
		codex: nodeCodex(codex),
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Written out here (not shared) so that n8n's linter can see which method tests the credential.
		credentials: [
			{
				name: 'openAgentsMemoryStore',
				displayName: 'Memory Store',
				required: true,
				testedBy: 'openAgentsMemoryStoreTest',
				displayOptions: { show: { store: ['credential'] } },
			},
			{ name: 'openAgentsTracingApi', displayName: 'Tracing (Optional)', required: false },
		],
		properties: [
			storeField,
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Value', value: 'value', description: 'Key-value data, counters and lists' },
					{ name: 'Conversation', value: 'conversation', description: 'Chat history of a session' },
				],
				default: 'value',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['value'] } },
				options: [
					{
						name: 'Append',
						value: 'append',
						action: 'Append an item to a list',
						description: 'Add an item to the end of a list (atomic)',
					},
					{ name: 'Delete', value: 'delete', action: 'Delete a key' },
					{ name: 'Get', value: 'get', action: 'Get a value' },
					{
						name: 'Increment',
						value: 'increment',
						action: 'Increment a counter',
						description: 'Add to a number (atomic)',
					},
					{ name: 'List Keys', value: 'listKeys', action: 'List keys' },
					{
						name: 'Set',
						value: 'set',
						action: 'Set a value',
						description: 'Store a JSON value, optionally with a TTL or compare-and-set',
					},
				],
				default: 'get',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['conversation'] } },
				options: [
					{
						name: 'Append Message',
						value: 'appendMessage',
						action: 'Append a message to a conversation',
					},
					{
						name: 'Get Messages',
						value: 'getMessages',
						action: 'Get the latest messages of a conversation',
					},
				],
				default: 'getMessages',
			},
			...addressFields,
			...get.description,
			...set.description,
			...del.description,
			...listKeys.description,
			...increment.description,
			...append.description,
			...appendMessage.description,
			...getMessages.description,
			optionsField,
			retryPolicyProperty,
		],
	};

	methods = {
		credentialTest: { openAgentsMemoryStoreTest: memoryStoreCredentialTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return traced(this, () => route.call(this));
	}
}
