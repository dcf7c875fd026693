import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import type { ConversationMessage } from '../../../lib/memory';
import { maxStoredMessagesField, ttlField } from '../../shared/fields/memory';
import { ttlMs, type MemoryOperation } from './types';

export const conversationKeyField: INodeProperties = {
	displayName: 'Conversation Key',
	name: 'key',
	type: 'string',
	default: 'chat_history',
	required: true,
	description:
		'The key the conversation is kept under (one conversation per key and scope; use the Session scope per user)',
};

const properties: INodeProperties[] = [
	{ ...conversationKeyField },
	{
		displayName: 'Role',
		name: 'role',
		type: 'options',
		options: [
			{ name: 'Assistant', value: 'assistant' },
			{ name: 'System', value: 'system' },
			{ name: 'User', value: 'user' },
		],
		default: 'user',
	},
	{
		displayName: 'Content',
		name: 'content',
		type: 'string',
		typeOptions: { rows: 3 },
		default: '',
		required: true,
	},
	{ ...ttlField },
	{ ...maxStoredMessagesField },
];

export const description = updateDisplayOptions(
	{ show: { operation: ['appendMessage'] } },
	properties,
);

/** Output: { key, length } — length is the number of messages the conversation keeps after appending. */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	const message: ConversationMessage = {
		role: fn.getNodeParameter('role', itemIndex) as ConversationMessage['role'],
		content: fn.getNodeParameter('content', itemIndex) as string,
	};
	const maxStored = fn.getNodeParameter('maxStoredMessages', itemIndex, 0) as number;
	return {
		key,
		...(await memory.appendMessages(ns, key, [message], {
			ttlMs: ttlMs(fn, itemIndex),
			maxStored: maxStored || undefined,
		})),
	};
};
