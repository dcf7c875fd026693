import { updateDisplayOptions, type INodeProperties } from 'n8n-workflow';

import { conversationKeyField } from './appendMessage';
import type { MemoryOperation } from './types';

const properties: INodeProperties[] = [
	{ ...conversationKeyField },
	{
		displayName: 'Max Messages',
		name: 'maxMessages',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 20,
		description:
			'Return at most this many of the latest messages (0 = no limit). Cut at whole turns: a tool call stays with its result.',
	},
	{
		displayName: 'Max Tokens',
		name: 'maxTokens',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'Return at most about this many tokens (≈ 4 characters each; 0 = no limit)',
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['getMessages'] } },
	properties,
);

/** Output: { key, messages, count }. */
export const execute: MemoryOperation = async ({ fn }, { memory, ns, itemIndex }) => {
	const key = fn.getNodeParameter('key', itemIndex) as string;
	const maxMessages = fn.getNodeParameter('maxMessages', itemIndex, 20) as number;
	const maxTokens = fn.getNodeParameter('maxTokens', itemIndex, 0) as number;
	const messages = await memory.readMessages(ns, key, {
		maxMessages: maxMessages || undefined,
		maxTokens: maxTokens || undefined,
	});
	return { key, messages: messages as never, count: messages.length };
};
