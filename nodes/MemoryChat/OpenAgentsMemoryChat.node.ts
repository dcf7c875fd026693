import {
	NodeConnectionTypes,
	type INodeType,
	type INodeTypeDescription,
	type ISupplyDataFunctions,
	type SupplyData,
} from 'n8n-workflow';

import { nodeCodex } from '../shared/fields/codex';
import codex from './OpenAgentsMemoryChat.node.json';
import { ScopedChatMemory } from '../../lib/memory';
import { closeStore, memoryFor, openStore, resolveNamespace } from '../shared/clients/memory';
import { readItemSettings } from '../shared/runtime/itemSettings';
import { recordMemoryCalls } from '../shared/runtime/runData';
import { retryPolicyProperty } from '../shared/fields/retryPolicy';
import {
	addressFields,
	maxStoredMessagesField,
	optionsField,
	storeField,
	ttlField,
} from '../shared/fields/memory';
import { memoryStoreCredentialTest } from '../shared/clients/memoryStore';

/** A conversation keeps its latest 1 000 messages unless the node says otherwise (50 context windows of 20). */
const DEFAULT_MAX_STORED = 1000;

/** Chat history for AI agents (n8n's AI Agent or ours), kept in the scoped, tenant-isolated memory store. */
export class OpenAgentsMemoryChat implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenAgents Chat Memory',
		name: 'openAgentsMemoryChat',
		icon: { light: 'file:memoryChat.svg', dark: 'file:memoryChat.dark.svg' },
		group: ['transform'],
		version: [1],
		subtitle: '={{ "scope: " + $parameter["scope"] }}',
		description:
			'Conversation memory for AI agents: per session and tenant, shared by all queue-mode workers',
		defaults: { name: 'OpenAgents Chat Memory' },
		codex: nodeCodex(codex),
		inputs: [],
		outputs: [NodeConnectionTypes.AiMemory],
		outputNames: ['Memory'],
		// Written out here (not shared) so that n8n's linter can see which method tests the credential.
		credentials: [
			{
				name: 'openAgentsMemoryStore',
				displayName: 'Memory Store',
				required: true,
				testedBy: 'openAgentsMemoryStoreTest',
				displayOptions: { show: { store: ['credential'] } },
			},
		],
		properties: [
			storeField,
			...addressFields.map((field) =>
				field.name === 'scope'
					? { ...field, default: 'session' }
					: field.name === 'scopeId'
						? {
								...field,
								default: '={{ $json.sessionId }}',
								description: "The chat session: n8n's Chat Trigger sends it as sessionId",
							}
						: field,
			),
			{
				displayName: 'Conversation Key',
				name: 'key',
				type: 'string',
				default: 'chat_history',
				description: 'The key the conversation is kept under within the scope',
			},
			{
				displayName: 'Context Window (Messages)',
				name: 'maxMessages',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 20,
				description: 'How many of the latest messages the agent sees, cut at whole turns',
			},
			{ ...maxStoredMessagesField, default: DEFAULT_MAX_STORED },
			ttlField,
			optionsField,
			retryPolicyProperty,
		],
	};

	methods = { credentialTest: { openAgentsMemoryStoreTest: memoryStoreCredentialTest } };

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const settings = readItemSettings(this, itemIndex);
		// Connected on the first load or save: a store that cannot be reached is then the agent's item error, with its code.
		const store = await openStore(this, { onFirstUse: true });
		const ttlSeconds = this.getNodeParameter('ttlSeconds', itemIndex, 0) as number;
		const memory = new ScopedChatMemory({
			memory: memoryFor(store, settings),
			ns: resolveNamespace(this, store, settings),
			key: this.getNodeParameter('key', itemIndex, 'chat_history') as string,
			maxMessages: this.getNodeParameter('maxMessages', itemIndex, 20) as number,
			ttlMs: ttlSeconds > 0 ? ttlSeconds * 1000 : undefined,
			maxStored:
				(this.getNodeParameter('maxStoredMessages', itemIndex, DEFAULT_MAX_STORED) as number) ||
				undefined,
		});
		return { response: recordMemoryCalls(this, memory), closeFunction: () => closeStore(store) };
	}
}
