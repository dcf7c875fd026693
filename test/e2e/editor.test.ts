/**
 * Every node's panel in n8n's real editor (headless Chromium): each of the package's nodes is put on a canvas once
 * per resource / operation / template (and with its optional sections switched on), its parameter panel is opened,
 * and the test fails when a parameter whose display conditions hold is missing from the panel, when a credential
 * select shows anything but the credential's name, or on a browser error that names our package. One screenshot per
 * node goes to the cluster's folder, or to docs/nodes/images with OPENAGENTS_DOCS_SCREENSHOTS=1.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import {
	NodeHelpers,
	type INodeParameters,
	type INodeProperties,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { openEditor, type EditorSession } from '../../stack/browser';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { REPO_ROOT } from '../../stack/n8n/community-package';
import { credentialTypesOfPackage, nodeTypesOfPackage } from '../support/workflow-runner';

const { client, info } = clusterFromEnv();
const SHOTS_DIR =
	process.env.OPENAGENTS_DOCS_SCREENSHOTS === '1'
		? join(REPO_ROOT, 'docs', 'nodes', 'images')
		: join(info.userFolder, 'screenshots');

/** The parameters that pick what a panel shows; every combination of their values is one variant. */
const SWITCHES = ['resource', 'operation', 'template'];

/** Per node: parameters that open optional sections, each set applied as one more variant of each combination. */
const SECTIONS: Record<string, INodeParameters[]> = {
	openAgentsAgent: [
		{
			knowledgeBaseSearch: true,
			memoryTools: true,
			outputFormat: 'fields',
			stepExecution: 'parallel',
		},
	],
	openAgentsKnowledgeBase: [
		{
			inputType: 'binary',
			format: 'json',
			deleteBy: 'filter',
			reranker: 'subNode',
			keywordIndex: 'redis',
		},
		{ inputType: 'fields' },
	],
	openAgentsKnowledgeBaseTool: [
		{
			searchMode: 'keyword',
			reranker: 'subNode',
			keywordIndex: 'redis',
		},
	],
	openAgentsMemory: [{ store: 'inProcess' }],
	openAgentsJobMonitor: [{ queueSource: 'metrics' }],
	openAgentsPlanner: [{ store: 'inProcess' }],
};

/** Whether a node with these parameters takes a reranker sub-node (its inputs are computed from them). */
function expectsReranker(description: INodeTypeDescription, parameters: INodeParameters): boolean {
	if (parameters.reranker !== 'subNode') return false;
	if (description.name === 'openAgentsKnowledgeBaseTool') return true;
	return (
		description.name === 'openAgentsKnowledgeBase' &&
		['query', 'answer', 'evaluate'].includes(String(parameters.operation))
	);
}

/** The class name (file name) of a node type, e.g. openAgentsKnowledgeBase → KnowledgeBase. */
const className = (description: INodeTypeDescription) =>
	description.name.replace(/^openAgents/, '');

function variantsOf(description: INodeTypeDescription, typeVersion: number): INodeParameters[] {
	let combos: INodeParameters[] = [{}];
	for (const name of SWITCHES) {
		combos = combos.flatMap((combo) => {
			const values = description.properties
				.filter(
					(p) =>
						p.name === name &&
						NodeHelpers.displayParameter(
							withDefaults(description, combo, typeVersion),
							p,
							{ typeVersion },
							description,
						),
				)
				.flatMap((p) => (p.options ?? []).map((o) => (o as { value: string }).value));
			return values.length ? values.map((value) => ({ ...combo, [name]: value })) : [combo];
		});
	}
	// A section that shows nothing new for a combination (e.g. Input Data for Query) adds no panel to open.
	const shown = (parameters: INodeParameters) =>
		[
			...expectedParameters(description, parameters, typeVersion),
			...expectedCredentials(description, parameters, typeVersion),
		]
			.map((p) => p.name)
			.concat(expectsReranker(description, parameters) ? ['(reranker input)'] : [])
			.join();
	const sections = SECTIONS[description.name] ?? [];
	return combos.flatMap((combo) => [
		combo,
		...sections
			.map((section) => ({ ...combo, ...section }))
			.filter((variant) => shown(variant) !== shown(combo)),
	]);
}

function withDefaults(
	description: INodeTypeDescription,
	parameters: INodeParameters,
	typeVersion: number,
): INodeParameters {
	return (
		NodeHelpers.getNodeParameters(
			description.properties,
			parameters,
			true,
			false,
			{ typeVersion },
			description,
		) ?? {}
	);
}

/** Top-level parameters n8n must show for these values (its own display rules, read from the description). */
function expectedParameters(
	description: INodeTypeDescription,
	parameters: INodeParameters,
	typeVersion: number,
): INodeProperties[] {
	const values = withDefaults(description, parameters, typeVersion);
	return description.properties.filter(
		(p) =>
			p.type !== 'hidden' && NodeHelpers.displayParameter(values, p, { typeVersion }, description),
	);
}

function expectedCredentials(
	description: INodeTypeDescription,
	parameters: INodeParameters,
	typeVersion: number,
): Array<{ name: string; displayName?: string }> {
	const values = withDefaults(description, parameters, typeVersion);
	return (description.credentials ?? []).filter((c) =>
		NodeHelpers.displayParameter(values, c, { typeVersion }, description),
	);
}

const descriptions = Object.values(nodeTypesOfPackage()).map(
	(type) => type.description as INodeTypeDescription,
);
const versionsOf = (d: INodeTypeDescription) =>
	Array.isArray(d.version) ? d.version : [d.version];
/** Every node at every version it has (version 1 nodes stay in saved workflows). */
const panels = descriptions.flatMap((d) =>
	versionsOf(d).map((version) => [`${className(d)} v${version}`, d, version] as const),
);
/** One credential of each type, by type; a panel must show its name. */
const credentials: Record<string, { id: string; name: string }> = {};
let editor: EditorSession;
const browserErrors: string[] = [];

beforeAll(async () => {
	const data: Record<string, Record<string, unknown>> = {
		openAgentsLlmApi: {
			baseUrl: 'http://127.0.0.1:9/v1',
			apiKey: 'sk-editor',
			chatModel: 'm',
			embeddingModel: 'e',
		},
		openAgentsChromaApi: {
			url: 'http://127.0.0.1:9',
			authentication: 'none',
			tenant: 'default_tenant',
			database: 'default_database',
		},
		openAgentsMemoryStore: {
			backend: 'redis',
			host: '127.0.0.1',
			redisPort: 6379,
			redisDatabase: 0,
			prefix: 'openagents-editor',
		},
		openAgentsN8nApi: { baseUrl: `${client.connection.url}/api/v1`, apiKey: 'n8n-editor' },
		openAgentsChatCompletionsApi: { apiKey: 'sk-editor' },
		openAgentsTracingApi: {
			endpoint: 'http://127.0.0.1:9',
			headers: '',
			serviceName: 'n8n-nodes-openagents',
			recordContent: false,
		},
	};
	for (const [type, { displayName }] of credentialTypesOfPackage()) {
		const credential = await client.upsertCredential(
			`${displayName} (editor check)`,
			type,
			data[type],
		);
		credentials[type] = { id: credential.id, name: credential.name };
	}
	mkdirSync(SHOTS_DIR, { recursive: true });
	editor = await openEditor(client);
	editor.page.on(
		'console',
		(message) => void (message.type() === 'error' && browserErrors.push(message.text())),
	);
	editor.page.on(
		'pageerror',
		(error) => void browserErrors.push(`${error.message}\n${error.stack ?? ''}`),
	);
}, 120_000);
afterAll(() => editor?.close());

describe.each(panels)('%s', (name, description, typeVersion) => {
	const latest = typeVersion === Math.max(...versionsOf(description));
	it('shows every parameter and credential its display rules call for, credentials by name and labelled by purpose, and no browser error of ours', async () => {
		const variants = variantsOf(description, typeVersion);
		const nodes = variants.map((parameters, i) => ({
			id: randomUUID(),
			name: i ? `${description.defaults.name} ${i + 1}` : String(description.defaults.name),
			type: `n8n-nodes-openagents.${description.name}`,
			typeVersion,
			position: [(i % 6) * 240, Math.floor(i / 6) * 240],
			parameters,
			credentials: Object.fromEntries(
				(description.credentials ?? []).map((c) => [c.name, credentials[c.name]]),
			),
		}));
		const { id } = await client.createWorkflow({
			name: `Editor check: ${name}`,
			nodes,
			connections: {},
		});
		browserErrors.length = 0;

		const problems: string[] = [];
		for (const [i, parameters] of variants.entries()) {
			const where = `${name} with ${JSON.stringify(parameters)}`;
			await editor.openNode(id, nodes[i].id);
			await editor.page.waitForTimeout(300); // the panel renders its conditional parameters after the first frame
			const panel = editor.page.locator('[data-test-id="node-parameters"]');
			const shown = await panel.evaluate((root) => ({
				labels: [...root.querySelectorAll('label[for]')].map((l) => l.getAttribute('for')!),
				notices: [...root.querySelectorAll('.notice')].map((n) => n.textContent?.trim() ?? ''),
				credentials: [
					...root.querySelectorAll('[data-test-id="node-credentials-select"] input'),
				].map((input) => (input as unknown as { value: string }).value),
				credentialLabels: [
					...root.querySelectorAll(
						'[data-test-id="node-credentials-slot"] [data-test-id="credentials-label"] label',
					),
				].map((label) => label.textContent?.trim() ?? ''),
			}));
			for (const p of expectedParameters(description, parameters, typeVersion)) {
				const present =
					p.type === 'notice'
						? shown.notices.some((text) => text.includes(p.displayName))
						: shown.labels.includes(p.name);
				if (!present)
					problems.push(`${where}: parameter "${p.displayName}" (${p.name}) is not in the panel`);
			}
			const shownCredentials = expectedCredentials(description, parameters, typeVersion);
			const expected = shownCredentials.map((c) => credentials[c.name].name).sort();
			if (JSON.stringify([...shown.credentials].sort()) !== JSON.stringify(expected)) {
				problems.push(
					`${where}: credential selects show ${JSON.stringify(shown.credentials)}, expected the names ${JSON.stringify(expected)}`,
				);
			}
			// Each credential select is labelled with what it is for (its display name on the node), never twice alike.
			const labels = shownCredentials.map((c) => c.displayName ?? '');
			if (
				JSON.stringify([...shown.credentialLabels].sort()) !== JSON.stringify([...labels].sort()) ||
				new Set(labels).size !== labels.length
			) {
				problems.push(
					`${where}: credential labels ${JSON.stringify(shown.credentialLabels)}, expected ${JSON.stringify(labels)}`,
				);
			}
			if (i === 0 && latest)
				await editor.page.screenshot({ path: join(SHOTS_DIR, `${className(description)}.png`) });
		}
		// Inputs as the canvas draws them: the Reranker input (computed from the parameters) and Fallback Model.
		await editor.page.keyboard.press('Escape');
		const fallbackInput =
			Array.isArray(description.inputs) &&
			description.inputs.some(
				(input) => typeof input === 'object' && input.displayName === 'Fallback Model',
			);
		for (const [i, parameters] of variants.entries()) {
			const wanted = expectsReranker(description, parameters);
			const label = await editor.page
				.locator(`[data-test-id="canvas-node"][data-node-name="${nodes[i].name}"]`)
				.locator('xpath=..')
				.innerText();
			if (label.includes('Reranker') !== wanted) {
				problems.push(
					`${name} with ${JSON.stringify(parameters)}: the Reranker input is ${wanted ? 'missing' : 'shown'} on the canvas`,
				);
			}
			if (label.includes('Fallback Model') !== fallbackInput)
				problems.push(`${name}: the Fallback Model input is not drawn as declared`);
		}
		const ours = browserErrors.filter((text) => /openagents|openAgents/i.test(text));
		expect({ problems, browserErrors: ours }).toEqual({ problems: [], browserErrors: [] });
	}, 300_000);
});

describe('OpenAgents LLM API credential', () => {
	/** The field labels of a credential's edit dialog in the editor. */
	async function credentialLabels(id: string): Promise<string[]> {
		await editor.page.goto(`${client.connection.url}/home/credentials/${id}`, {
			waitUntil: 'networkidle',
		});
		const dialog = editor.page.locator('[data-test-id="editCredential-modal"]');
		await dialog.waitFor({ timeout: 60_000 });
		await editor.page.waitForTimeout(300); // conditional fields render after the first frame
		return dialog.evaluate((root) =>
			[...root.querySelectorAll('[data-test-id="credential-connection-parameter"] label')].map(
				(label) => label.textContent?.replace(/\s+/g, ' ').trim() ?? '',
			),
		);
	}

	it('shows the rate limit fields its Rate Limit choice calls for, with the fallback and price fields', async () => {
		const shared = await client.upsertCredential(
			'LLM API with a shared rate limit (editor check)',
			'openAgentsLlmApi',
			{
				baseUrl: 'http://127.0.0.1:9/v1',
				apiKey: 'sk-editor',
				chatModel: 'm',
				embeddingModel: 'e',
				rateLimitStore: 'shared',
				rateLimitStoreUrl: 'redis://127.0.0.1:6379/0',
				requestsPerMinute: 600,
			},
		);
		const has = (labels: string[], name: string) => labels.some((l) => l.startsWith(name));
		const limitFields = [
			'Rate Limit Store URL',
			'Requests per Minute',
			'Tokens per Minute',
			'Max Concurrent Requests',
			'Limit Name',
		];
		const sharedLabels = await credentialLabels(shared.id);
		for (const name of [
			'Fallback Chat Models',
			'Rate Limit',
			...limitFields,
			'Model Prices',
			'Currency',
		])
			expect({ name, shown: has(sharedLabels, name) }).toEqual({ name, shown: true });
		await editor.page.screenshot({ path: join(SHOTS_DIR, 'OpenAgentsLlmApi-rate-limit.png') });

		const offLabels = await credentialLabels(credentials.openAgentsLlmApi.id); // Rate Limit: Off
		expect(has(offLabels, 'Rate Limit')).toBe(true);
		for (const name of limitFields)
			expect({ name, shown: has(offLabels, name) }).toEqual({ name, shown: false });
	}, 120_000);
});
