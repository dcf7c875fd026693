/** Parameters shared by every Memory operation: where the key lives, and the node's access policy. */
import type { INodeProperties } from 'n8n-workflow';

import { SCOPES } from '../../../lib/memory';

const scopeOptions = [
	{ name: 'Agent', value: 'agent', description: 'One agent of a workflow (scope ID = agent name)' },
	{ name: 'Custom', value: 'custom', description: 'Any namespace you name (scope ID = its name)' },
	{
		name: 'Execution',
		value: 'execution',
		description: 'This execution only (scope ID defaults to the execution ID)',
	},
	{ name: 'Global', value: 'global', description: 'Everything of this isolation key' },
	{
		name: 'Session',
		value: 'session',
		description: 'A user or chat session (scope ID = session key)',
	},
	{
		name: 'Workflow',
		value: 'workflow',
		description: 'This workflow (scope ID defaults to the workflow ID)',
	},
];

export const storeField: INodeProperties = {
	displayName: 'Store',
	name: 'store',
	type: 'options',
	options: [
		{
			name: 'Redis or Postgres (Credential)',
			value: 'credential',
			description: 'Shared by every worker; works in queue mode',
		},
		{
			name: 'In-Process',
			value: 'inProcess',
			description: 'This n8n process only; refused in queue mode',
		},
	],
	default: 'credential',
};

export const addressFields: INodeProperties[] = [
	{
		displayName: 'Scope',
		name: 'scope',
		type: 'options',
		options: scopeOptions,
		default: 'workflow',
		description: 'Which namespace the key lives in',
	},
	{
		displayName: 'Scope ID',
		name: 'scopeId',
		type: 'string',
		default: '',
		displayOptions: { hide: { scope: ['global'] } },
		placeholder: 'e.g. {{ $json.sessionId }}',
		description:
			'Identifies the namespace within the scope. Leave empty for the current workflow or execution.',
	},
	{
		displayName: 'Isolation Key',
		name: 'isolationKey',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.customerId }}',
		description:
			'Tenant or user this data belongs to; data of one isolation key is never visible under another. Leave empty for none.',
	},
];

/** How many messages a conversation keeps in the store (Memory's Append Message, Chat Memory). */
export const maxStoredMessagesField: INodeProperties = {
	displayName: 'Max Stored Messages',
	name: 'maxStoredMessages',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 0,
	description:
		'Keep at most this many messages in the store, removing the oldest whole turns (0 = keep all). The latest turn is always kept whole.',
};

export const keyField: INodeProperties = {
	displayName: 'Key',
	name: 'key',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'e.g. preferences',
};

export const ttlField: INodeProperties = {
	displayName: 'TTL (Seconds)',
	name: 'ttlSeconds',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 0,
	description:
		'Delete the key after this many seconds; 0 keeps it (a Set makes it permanent, Increment and Append keep its current expiry)',
};

const scopeValues = SCOPES.map((s) => ({ name: s[0].toUpperCase() + s.slice(1), value: s }));

export const optionsField: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Readable Scopes',
			name: 'readScopes',
			type: 'multiOptions',
			options: scopeValues,
			default: [...SCOPES],
			description: 'Scopes this node may read; reading any other is an error',
		},
		{
			displayName: 'Require Isolation Key',
			name: 'requireIsolationKey',
			type: 'boolean',
			default: false,
			description:
				'Whether an empty isolation key is an error (recommended for multi-tenant flows)',
		},
		{
			displayName: 'Timeout (Seconds)',
			name: 'timeoutSeconds',
			type: 'number',
			typeOptions: { minValue: 0.1, numberPrecision: 1 },
			default: 10,
			description:
				'Per store call: a call the store has not answered by then fails (and is retried under the Retry Policy)',
		},
		{
			displayName: 'Writable Scopes',
			name: 'writeScopes',
			type: 'multiOptions',
			options: scopeValues,
			default: [...SCOPES],
			description: 'Scopes this node may write; writing any other is an error',
		},
	],
};
