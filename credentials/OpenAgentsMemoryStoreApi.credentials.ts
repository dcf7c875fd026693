import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

const redis = { show: { backend: ['redis'] } };
const postgres = { show: { backend: ['postgres'] } };

/**
 * Where the Memory node (and Planner checkpoints) keep their data. Both backends are shared by every
 * queue-mode worker. Redis and Postgres speak no HTTP, so this credential is tested by the Memory node's
 * `credentialTest` method (a PING / SELECT 1), not by a declarative request.
 */
export class OpenAgentsMemoryStoreApi implements ICredentialType {
	name = 'openAgentsMemoryStore';

	displayName = 'OpenAgents Memory Store API';

	icon: Icon = { light: 'file:../icons/openagents.svg', dark: 'file:../icons/openagents.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-openagents/n8n-nodes-openagents#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Backend',
			name: 'backend',
			type: 'options',
			options: [
				{ name: 'Redis', value: 'redis', description: 'Fast; keys expire natively (TTL)' },
				{
					name: 'Postgres',
					value: 'postgres',
					description: 'Durable; a table is created on first use',
				},
			],
			default: 'redis',
		},
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost', required: true },
		{
			displayName: 'Port',
			name: 'redisPort',
			type: 'number',
			default: 6379,
			displayOptions: redis,
		},
		{
			displayName: 'Port',
			name: 'postgresPort',
			type: 'number',
			default: 5432,
			displayOptions: postgres,
		},
		{
			displayName: 'Database Number',
			name: 'redisDatabase',
			type: 'number',
			default: 0,
			displayOptions: redis,
		},
		{
			displayName: 'Database',
			name: 'postgresDatabase',
			type: 'string',
			default: 'postgres',
			displayOptions: postgres,
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			description: 'Redis ACL user name (leave empty for the default user) or Postgres user',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'SSL/TLS',
			name: 'ssl',
			type: 'boolean',
			default: false,
			description: "Whether to connect over TLS; the server's certificate is verified",
		},
		{
			displayName: 'CA Certificate',
			name: 'ca',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description:
				"PEM certificate of the authority that signed the server's certificate, when it is not a public one",
			displayOptions: { show: { ssl: [true] } },
		},
		{
			displayName: 'Allow Self-Signed Certificates',
			name: 'allowSelfSigned',
			type: 'boolean',
			default: false,
			description:
				'Whether to accept a certificate that cannot be verified. Only for tests: anyone on the network path could read the traffic.',
			displayOptions: { show: { ssl: [true] } },
		},
		{
			displayName: 'Tenant',
			name: 'tenant',
			type: 'string',
			default: '',
			placeholder: 'e.g. acme',
			description:
				'Everything read or written with this credential belongs to this tenant; no workflow using it can reach another tenant. Give each customer or team its own credential.',
		},
		{
			displayName: 'Allow Isolation Keys',
			name: 'allowIsolationKeys',
			type: 'boolean',
			default: false,
			description:
				"Whether nodes may split the tenant's data further with an Isolation Key (e.g. one per end user). Either way they stay inside the tenant.",
		},
		{
			displayName: 'Key Prefix',
			name: 'prefix',
			type: 'string',
			default: 'openagents',
			required: true,
			description:
				'Prepended to every Redis key, or to the Postgres table name (letters, digits and underscores), so several installations can share one server',
		},
	];
}
