/**
 * The n8n community-package rules this package does not meet, each with where and why. `npm run lint` turns exactly
 * these off (eslint.config.mjs) and `npm run scan` accepts exactly these from n8n's own scanner; the README's
 * "Install into your n8n" section lists them. Everything else n8n's linter and scanner check must pass.
 *
 * `files`: globs (source paths; the scanner's tarball leg lints dist/**\/*.js, matched by the same names) or
 * undefined for every file.
 */
export const n8nRuleExceptions = [
	{
		rule: '@n8n/community-nodes/no-runtime-dependencies',
		reason:
			'the nodes talk to the stores and models the user runs: Redis (ioredis), Postgres (pg), Chroma (chromadb), OpenTelemetry and the LangChain chat model n8n also uses, so the package has runtime dependencies (n8n Cloud verification allows none)',
	},
	{
		rule: '@n8n/community-nodes/no-restricted-imports',
		reason:
			'the same runtime dependencies, and Node built-ins (node:fs for the dashboard script, node:async_hooks for tracing context): imports outside n8n-workflow are what n8n Cloud verification refuses',
	},
	{
		rule: '@n8n/community-nodes/no-restricted-globals',
		files: ['lib/**', 'dist/lib/**'],
		reason:
			'lib/ is plain TypeScript for Node: timers (retry backoff, timeouts, polling) and process (queue-mode checks, OpenTelemetry environment) are what it runs on; nodes/ and credentials/ use none',
	},
	{
		rule: '@n8n/community-nodes/node-usable-as-tool',
		files: ['nodes/KnowledgeBase/*.node.ts', 'nodes/KnowledgeBaseTool/*.node.ts'],
		reason:
			"n8n names a node's tool variant <type>Tool, which for the Knowledge Base is the Knowledge Base Tool sub-node's type (openAgentsKnowledgeBaseTool, kept so saved workflows open); the sub-node is the tool, and its inputs are computed (a reranker input when asked), which the rule cannot read",
	},
	{
		rule: 'n8n-nodes-base/node-class-description-credentials-name-unsuffixed',
		reason:
			'the credential type openAgentsMemoryStore has no "Api" suffix, and a credential type is never renamed: every saved credential of it would stop working',
	},
	{
		rule: 'n8n-nodes-base/cred-class-field-name-unsuffixed',
		files: ['credentials/OpenAgentsMemoryStore*.credentials.ts'],
		reason: 'the same credential type name (openAgentsMemoryStore), kept for saved credentials',
	},
	{
		rule: '@n8n/community-nodes/credential-password-field',
		files: ['credentials/OpenAgentsLlmApi.credentials.ts'],
		reason:
			'"tokensPerMinute" is a rate limit in model tokens, not a secret; renaming a credential field would drop the value of every saved credential',
	},
	{
		rule: '@n8n/community-nodes/credential-unnecessary-password',
		files: [
			'credentials/OpenAgentsLlmApi.credentials.ts',
			'credentials/OpenAgentsTracingApi.credentials.ts',
		],
		reason:
			"the Rate Limit Store URL carries the store's password (redis://:password@host) and the tracing Headers carry API keys (Authorization, x-honeycomb-team): both are secrets under names the rule does not know",
	},
];
