/**
 * The example workflows in examples/: loading them with credentials filled in, and importing them into an n8n
 * (used by `npm start` and by the tests that run each example).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { N8nClient } from './n8n/client';

export const EXAMPLES_DIR = join(__dirname, '..', 'examples');

export interface ExampleWorkflow {
	name: string;
	nodes: Array<{
		name: string;
		type: string;
		parameters: Record<string, unknown>;
		credentials?: Record<string, { id: string; name: string }>;
		webhookId?: string;
	}>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
}

/** Credentials by credential type, as n8n stores them ({ id, name }). */
export type CredentialRefs = Record<string, { id: string; name: string }>;

/** The header examples 1 and 3 require on every webhook call (n8n's Header Auth credential). */
export const WEBHOOK_KEY_HEADER = 'X-OpenAgents-Key';

/** The Basic Auth user of example 5's dashboard and metrics webhooks. */
const DASHBOARD_USER = 'ops';

/** Where the examples' services are. */
interface ExampleServices {
	llm: { baseUrl: string; apiKey: string; chatModel: string; embeddingModel: string };
	chromaUrl: string;
	redis: { host: string; port: number; prefix: string };
	/** Header Auth value for the examples' webhooks; a random one when not given. */
	webhookKey?: string;
	/** Basic Auth password of example 5's dashboard and metrics (user "ops"); a random one when not given. */
	dashboardPassword?: string;
	/** The API key OpenAI clients send to example 8; a random one when not given. */
	chatCompletionsKey?: string;
	/** Credential names start with this (e.g. "e2e "), so runs that share an n8n do not collide. */
	namePrefix?: string;
}

/**
 * Creates (or replaces, by name) every credential the examples use: this package's, the Header Auth credential of
 * their webhooks and the Basic Auth login of the dashboard. Returns the references loadExample takes, the webhook
 * key to send, the dashboard login and the key of example 8's OpenAI-compatible endpoint.
 */
export async function upsertExampleCredentials(
	client: N8nClient,
	services: ExampleServices,
): Promise<{
	credentials: CredentialRefs;
	webhookKey: string;
	dashboardLogin: { user: string; password: string };
	chatCompletionsKey: string;
}> {
	const name = (base: string) => `${services.namePrefix ?? ''}${base}`;
	const webhookKey = services.webhookKey ?? randomBytes(24).toString('base64url');
	const chatCompletionsKey =
		services.chatCompletionsKey ?? `sk-openagents-${randomBytes(24).toString('base64url')}`;
	const dashboardLogin = {
		user: DASHBOARD_USER,
		password: services.dashboardPassword ?? randomBytes(18).toString('base64url'),
	};
	const credentials: CredentialRefs = {
		openAgentsLlmApi: await client.upsertCredential(
			name('OpenAgents LLM'),
			'openAgentsLlmApi',
			services.llm,
		),
		openAgentsChromaApi: await client.upsertCredential(
			name('OpenAgents Chroma'),
			'openAgentsChromaApi',
			{
				url: services.chromaUrl,
				authentication: 'none',
				tenant: 'default_tenant',
				database: 'default_database',
			},
		),
		openAgentsMemoryStore: await client.upsertCredential(
			name('OpenAgents Memory (Redis)'),
			'openAgentsMemoryStore',
			{
				backend: 'redis',
				host: services.redis.host,
				redisPort: services.redis.port,
				redisDatabase: 0,
				prefix: services.redis.prefix,
			},
		),
		openAgentsN8nApi: await client.upsertCredential(
			name('OpenAgents n8n API'),
			'openAgentsN8nApi',
			{
				baseUrl: `${client.url}/api/v1`,
				apiKey: client.connection.apiKey,
			},
		),
		httpHeaderAuth: await client.upsertCredential(
			name('OpenAgents webhook key'),
			'httpHeaderAuth',
			{
				name: WEBHOOK_KEY_HEADER,
				value: webhookKey,
			},
		),
		httpBasicAuth: await client.upsertCredential(
			name('OpenAgents dashboard login'),
			'httpBasicAuth',
			dashboardLogin,
		),
		openAgentsChatCompletionsApi: await client.upsertCredential(
			name('OpenAgents Chat Completions key'),
			'openAgentsChatCompletionsApi',
			{ apiKey: chatCompletionsKey },
		),
	};
	return { credentials, webhookKey, dashboardLogin, chatCompletionsKey };
}

/** Example 1's Settings: the one folder it reads, which files in it, and the knowledge base it fills. */
export function setIngestSettings(
	workflow: ExampleWorkflow,
	settings: { folder: string; pattern: string; knowledgeBase?: string },
): void {
	const node = workflow.nodes.find((n) => n.name === 'Settings');
	if (!node) throw new Error(`${workflow.name} has no Settings node`);
	const assignments = (
		node.parameters.assignments as { assignments: Array<{ name: string; value: unknown }> }
	).assignments;
	for (const [key, value] of Object.entries(settings)) {
		const field = assignments.find((a) => a.name === key);
		if (!field) throw new Error(`The Settings node has no field "${key}"`);
		if (value !== undefined) field.value = value;
	}
}

/**
 * Points every node of an example that names its knowledge base (examples 2, 3, 8, 9: "npm-readmes") at `name`;
 * knowledge bases given by an expression (example 1's, from its Settings) are left as they are.
 */
export function setKnowledgeBase(workflow: ExampleWorkflow, name: string): void {
	for (const node of workflow.nodes) {
		const value = node.parameters.knowledgeBase;
		if (typeof value === 'string' && !value.startsWith('=')) node.parameters.knowledgeBase = name;
		else if (value && typeof value === 'object') {
			const locator = value as { value?: unknown; cachedResultName?: string };
			if (typeof locator.value === 'string' && !locator.value.startsWith('='))
				node.parameters.knowledgeBase = { ...locator, value: name, cachedResultName: name };
		}
	}
}

/** An evaluation data set's rows: a question and the sources that answer it (see Knowledge Base Evaluate). */
export type EvaluationRow = { question: string; expected: string };

/**
 * Creates the data table example 9's Evaluation Trigger reads (replacing one of the same name) with `rows`; returns
 * its id.
 */
export async function upsertEvaluationDataTable(
	client: N8nClient,
	name: string,
	rows: EvaluationRow[],
): Promise<string> {
	const filter = encodeURIComponent(JSON.stringify({ name }));
	const existing = await client.api<{ data: Array<{ id: string; name: string }> }>(
		'GET',
		`/data-tables?filter=${filter}`,
	);
	for (const table of existing.data.filter((t) => t.name === name))
		await client.api('DELETE', `/data-tables/${table.id}`);
	const { id } = await client.api<{ id: string }>('POST', '/data-tables', {
		name,
		columns: [
			{ name: 'question', type: 'string' },
			{ name: 'expected', type: 'string' },
		],
	});
	await client.api('POST', `/data-tables/${id}/rows`, { data: rows });
	return id;
}

/** Points example 9's Evaluation Trigger at the data table `id`. */
export function setEvaluationDataTable(workflow: ExampleWorkflow, id: string): void {
	const trigger = workflow.nodes.find((n) => n.type === EVALUATION_TRIGGER);
	if (!trigger) throw new Error(`${workflow.name} has no Evaluation Trigger`);
	trigger.parameters.dataTableId = { __rl: true, value: id, mode: 'id' };
}

/** Whether a workflow starts from n8n's Evaluation Trigger (run from the editor's Evaluations tab, never activated). */
export function isEvaluation(workflow: ExampleWorkflow): boolean {
	return workflow.nodes.some((n) => n.type === EVALUATION_TRIGGER);
}

const EVALUATION_TRIGGER = 'n8n-nodes-base.evaluationTrigger';

export function exampleFiles(): string[] {
	return readdirSync(EXAMPLES_DIR)
		.filter((f) => f.endsWith('.json'))
		.sort();
}

/** An example with each node's credentials pointed at `credentials` (by type); throws when one is not given. */
export function loadExample(
	file: string,
	credentials: CredentialRefs,
	dir = EXAMPLES_DIR,
): ExampleWorkflow {
	const workflow = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ExampleWorkflow;
	for (const node of workflow.nodes) {
		for (const type of Object.keys(node.credentials ?? {})) {
			if (!credentials[type])
				throw new Error(`Example ${file}: node "${node.name}" needs a ${type} credential`);
			node.credentials![type] = credentials[type];
		}
	}
	return workflow;
}

/**
 * The production webhook path of a Webhook, Chat Trigger (`<webhookId>/chat`) or Chat Completions Trigger
 * (`<path>/v1/chat/completions`; its clients' base URL is the part before `/chat/completions`) node.
 */
export function webhookPath(workflow: ExampleWorkflow, nodeName: string): string {
	const node = workflow.nodes.find((n) => n.name === nodeName);
	if (!node) throw new Error(`No node "${nodeName}" in ${workflow.name}`);
	if (node.type === CHAT_COMPLETIONS_TRIGGER)
		return `${String(node.parameters.path)}/v1/chat/completions`;
	return node.type.endsWith('.chatTrigger')
		? `${node.webhookId}/chat`
		: String(node.parameters.path);
}

/** n8n answers 409 while a workflow it just deactivated is still being unpublished: try again for a while. */
async function whenSettled<T>(call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			return await call();
		} catch (error) {
			if (!/HTTP 409/.test((error as Error).message) || Date.now() > deadline) throw error;
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
	}
}

/** Creates the workflow, or updates the one of the same name in place (inactive afterwards); returns its id. */
export async function importExample(client: N8nClient, workflow: ExampleWorkflow): Promise<string> {
	const existing = await client.api<{ data: Array<{ id: string; name: string; active: boolean }> }>(
		'GET',
		`/workflows?name=${encodeURIComponent(workflow.name)}`,
	);
	const old = existing.data.find((w) => w.name === workflow.name);
	if (!old) return (await client.createWorkflow(workflow)).id;
	if (old.active) await client.api('POST', `/workflows/${old.id}/deactivate`);
	const { name, nodes, connections, settings } = workflow;
	await whenSettled(() =>
		client.api('PUT', `/workflows/${old.id}`, {
			name,
			nodes,
			connections,
			settings: settings ?? { executionOrder: 'v1' },
		}),
	);
	return old.id;
}

const CHAT_COMPLETIONS_TRIGGER = 'n8n-nodes-openagents.openAgentsChatCompletionsTrigger';
const WEBHOOK_TYPES = new Set([
	'n8n-nodes-base.webhook',
	'@n8n/n8n-nodes-langchain.chatTrigger',
	CHAT_COMPLETIONS_TRIGGER,
]);

/** Activates an imported example and waits until its Webhook, Chat Trigger and Chat Completions nodes answer. */
export async function activateExample(
	client: N8nClient,
	id: string,
	workflow: ExampleWorkflow,
): Promise<void> {
	const paths = workflow.nodes
		.filter((n) => WEBHOOK_TYPES.has(n.type))
		.map((n) => ({
			path: webhookPath(workflow, n.name),
			method: String(n.parameters.httpMethod ?? 'POST'),
		}));
	await whenSettled(() => client.activateWorkflow(id, paths));
}
