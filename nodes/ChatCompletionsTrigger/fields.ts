import type { INodeProperties } from 'n8n-workflow';

/** Session Scope, one field per node version: per client key from version 1.1, shared before (as version 1 behaved). */
const sessionScope = (version: number, defaultScope: 'perKey' | 'shared'): INodeProperties => ({
	displayName: 'Session Scope',
	name: 'sessionScope',
	type: 'options',
	options: [
		{
			name: 'Per Client Key',
			value: 'perKey',
			description:
				'A session is continued only with the key that started it: with one key per client, no client reads another’s conversation',
		},
		{
			name: 'Shared by All Keys',
			value: 'shared',
			description:
				'Any caller that sends a session’s ID (X-Session-ID or "user") continues it, whichever key it holds',
		},
	],
	default: defaultScope,
	description:
		'Which callers may continue a session: the item’s sessionId (what a memory sub-node is keyed by) comes from X-Session-ID or "user", or is new',
	displayOptions: { show: { '@version': [version] } },
});

/** Options: what one request may carry, checked before any execution starts (defaults: DEFAULT_REQUEST_LIMITS). */
export const limitsField: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Max Characters per Message',
			name: 'maxMessageChars',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 200000,
			description: 'A longer message is refused with 400 context_length_exceeded',
		},
		{
			displayName: 'Max Messages',
			name: 'maxMessages',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 500,
			description: 'A request with more messages is refused with 400 context_length_exceeded',
		},
		{
			displayName: 'Max Request Size (Bytes)',
			name: 'maxRequestBytes',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 1000000,
			description:
				"A larger request body is refused with 413 request_too_large (n8n's own limit, N8N_PAYLOAD_SIZE_MAX, applies before it)",
		},
	],
};

export const sessionScopeFields: INodeProperties[] = [
	sessionScope(1, 'shared'),
	{
		...sessionScope(1.1, 'perKey'),
		displayOptions: { show: { '@version': [{ _cnd: { gte: 1.1 } }] } },
	},
];
