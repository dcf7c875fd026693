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
import * as forget from './actions/forget';
import * as listFacts from './actions/listFacts';
import * as listKeys from './actions/listKeys';
import * as recall from './actions/recall';
import * as remember from './actions/remember';
import { route } from './actions/router';
import { traced } from '../shared/runtime/nodeTracing';
import * as set from './actions/set';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';
import { addressFields, optionsField, storeField } from '../shared/fields/memory';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';
import { llmApiCredentialTest } from '../shared/clients/llmApi';

export class OpenAgentsMemory implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Memory',
		name: 'openAgentsMemory',
		icon: { light: 'file:memory.svg', dark: 'file:memory.dark.svg' },
		group: ['transform'],
		version: [1],
		subtitle:
			'={{ $parameter["operation"] + ": " + ($parameter["resource"] === "longTermMemory" ? $parameter["subject"] : $parameter["scope"]) }}',
		description:
			'Scoped, tenant-isolated memory shared by all queue-mode workers: key-value, counters, lists, conversations and long-term facts',
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
			{
				name: 'openAgentsLlmApi',
				displayName: 'LLM API (Embeddings)',
				required: true,
				testedBy: 'openAgentsLlmApiTest',
				displayOptions: {
					show: {
						resource: ['longTermMemory'],
						operation: ['remember', 'recall'],
						matchBy: ['meaning'],
					},
				},
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
					{
						name: 'Long-Term Memory',
						value: 'longTermMemory',
						description: 'Facts about a user or customer, recalled by keywords and meaning',
					},
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
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['longTermMemory'] } },
				options: [
					{
						name: 'Forget',
						value: 'forget',
						action: 'Forget a fact or a subject',
						description: 'Delete one fact, or everything about the subject',
					},
					{ name: 'List', value: 'listFacts', action: 'List facts about a subject' },
					{
						name: 'Recall',
						value: 'recall',
						action: 'Recall facts about a subject',
						description: 'The facts most relevant to a query, best first',
					},
					{
						name: 'Remember',
						value: 'remember',
						action: 'Remember a fact about a subject',
						description: 'Store a fact (a fact stored before is confirmed instead)',
					},
				],
				default: 'recall',
			},
			// Long-term memory lives in the tenant (credential and Isolation Key), outside the scopes.
			...addressFields.map((field) =>
				field.name === 'isolationKey'
					? field
					: {
							...field,
							displayOptions: {
								...field.displayOptions,
								hide: { ...field.displayOptions?.hide, resource: ['longTermMemory'] },
							},
						},
			),
			{
				displayName: 'Subject',
				name: 'subject',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { resource: ['longTermMemory'] } },
				placeholder: 'e.g. {{ $json.userId }}',
				description:
					'Who or what the facts are about (a user, customer or account ID); facts of one subject are never returned for another',
			},
			{
				displayName: 'Match Facts By',
				name: 'matchBy',
				type: 'options',
				displayOptions: {
					show: { resource: ['longTermMemory'], operation: ['remember', 'recall'] },
				},
				options: [
					{
						name: 'Keywords',
						value: 'keywords',
						description: 'BM25 keyword search; no model needed',
					},
					{
						name: 'Keywords and Meaning',
						value: 'meaning',
						description:
							'Also by meaning, with the embedding model of an LLM API credential; use it for Remember and Recall alike',
					},
				],
				default: 'keywords',
			},
			{
				displayName: 'Embedding Model',
				name: 'embeddingModel',
				type: 'string',
				default: '',
				displayOptions: {
					show: {
						resource: ['longTermMemory'],
						operation: ['remember', 'recall'],
						matchBy: ['meaning'],
					},
				},
				placeholder: 'e.g. text-embedding-3-small',
				description:
					"Empty: the credential's embedding model. Keep one model for a subject's facts: facts embedded by a model of another size are matched by keywords only.",
			},
			...get.description,
			...set.description,
			...del.description,
			...listKeys.description,
			...increment.description,
			...append.description,
			...appendMessage.description,
			...getMessages.description,
			...remember.description,
			...recall.description,
			...forget.description,
			...listFacts.description,
			optionsField,
			retryPolicyProperty,
		],
	};

	methods = {
		credentialTest: {
			openAgentsMemoryStoreTest: memoryStoreCredentialTest,
			openAgentsLlmApiTest: llmApiCredentialTest,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return traced(this, () => route.call(this));
	}
}
