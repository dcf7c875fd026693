/**
 * `npm run docs`: writes docs/nodes/<Node>.md for every node of the package — what it does (the node's section of the
 * README), its inputs, outputs and credentials, every parameter (from the node's own description, so the page cannot
 * drift from the code), and the example workflows that use it. test/unit/support/docs.test.ts checks they are current.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeProperties, INodePropertyCollection, INodeTypeDescription } from 'n8n-workflow';

import { EXAMPLES_DIR, exampleFiles } from '../stack/examples';
import { N8N_VERSION } from '../stack/n8n/install';

const ROOT = join(__dirname, '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
	name: string;
	n8n: { nodes: string[] };
};

/** The README section ("## <title>") that describes each node. */
const README_SECTION: Record<string, string> = {
	Agent: 'Agent node',
	Approval: 'Human approval',
	ChatCompletionsTrigger: 'OpenAI-compatible endpoint',
	Planner: 'Planner node',
	KnowledgeBase: 'Knowledge Base node',
	KnowledgeBaseTool: 'Knowledge Base node',
	Memory: 'Memory node',
	MemoryChat: 'Memory node',
	JobMonitor: 'Job Monitor node',
	JobMonitorTrigger: 'Job Monitor node',
};

function readmeSection(title: string): string {
	const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
	const start = readme.indexOf(`## ${title}\n`);
	if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
	const end = readme.indexOf('\n## ', start + 3);
	return fromDocsFolder(readme.slice(start + title.length + 4, end < 0 ? undefined : end).trim());
}

/** README links, relative to the repository root, made relative to docs/nodes/ (anchors point into the README). */
function fromDocsFolder(markdown: string): string {
	return markdown.replace(/\]\((?!https?:|\/|mailto:)([^)\s]+)\)/g, (_, target: string) =>
		target.startsWith('#') ? `](../../README.md${target}` + ')' : `](../../${target})`,
	);
}

const cell = (value: unknown) =>
	String(value ?? '')
		.replace(/\|/g, '\\|')
		.replace(/\n/g, ' ');
const formatDefault = (value: unknown) =>
	value === '' || value === undefined
		? ''
		: `\`${cell(typeof value === 'string' ? value : JSON.stringify(value))}\``;

/** A display condition value: 1, or a condition such as { _cnd: { gte: 1.1 } } as "≥ 1.1". */
function conditionText(value: unknown): string {
	const condition = (value as { _cnd?: Record<string, unknown> } | null)?._cnd;
	if (!condition) return JSON.stringify(value);
	const symbols: Record<string, string> = { gte: '≥', lte: '≤', gt: '>', lt: '<', eq: '=' };
	return Object.entries(condition)
		.map(([op, operand]) => `${symbols[op] ?? op} ${JSON.stringify(operand)}`)
		.join(' and ');
}

function shownWhen(property: INodeProperties): string {
	const show = property.displayOptions?.show ?? {};
	return Object.entries(show)
		.map(
			([key, values]) =>
				`${key === '@version' ? 'node version' : key}: ${(values as unknown[]).map(conditionText).join(' or ')}`,
		)
		.join('; ');
}

/** The type, with a picker's modes (e.g. "resourceLocator: From List, By Name"). */
function typeText(p: INodeProperties): string {
	if (p.type === 'resourceLocator' && p.modes?.length)
		return `${p.type}: ${p.modes.map((m) => m.displayName).join(', ')}`;
	if (p.type === 'workflowSelector') return `${p.type}: From List, By ID (n8n's workflow selector)`;
	return p.type;
}

function rows(properties: readonly INodeProperties[], prefix = ''): string[] {
	return properties.flatMap((p) => {
		if (p.type === 'notice') return [];
		const name = `${prefix}${p.displayName}`;
		const options =
			p.type === 'options' || p.type === 'multiOptions'
				? ` Values: ${(p.options as Array<{ name: string }>).map((o) => o.name).join(', ')}.`
				: '';
		const own = `| ${cell(name)} | \`${p.name}\` | ${cell(typeText(p))} | ${formatDefault(p.default)} | ${cell(shownWhen(p))} | ${cell((p.description ?? '') + options)} |`;
		if (p.type === 'collection')
			return [own, ...rows(p.options as INodeProperties[], `${name} → `)];
		if (p.type === 'fixedCollection')
			return [
				own,
				...(p.options as INodePropertyCollection[]).flatMap((c) => rows(c.values, `${name} → `)),
			];
		return [own];
	});
}

function connectionNames(list: INodeTypeDescription['inputs']): string {
	if (!Array.isArray(list)) return String(list);
	return (
		list
			.map((c) =>
				typeof c === 'string' ? c : `${c.type}${c.displayName ? ` (${c.displayName})` : ''}`,
			)
			.join(', ') || 'none'
	);
}

/** `page`: the node's folder name (Agent, Planner, …), which names its page, screenshot and README section. */
function nodePage(page: string, description: INodeTypeDescription): string {
	const type = `${manifest.name}.${description.name}`;
	const examples = exampleFiles().filter((file) =>
		readFileSync(join(EXAMPLES_DIR, file), 'utf8').includes(`"${type}"`),
	);
	const credentials = (description.credentials ?? []).map(
		(c) =>
			`\`${c.name}\`${c.required ? '' : ' (optional)'}${c.displayOptions?.show ? ` when ${shownWhen(c as unknown as INodeProperties)}` : ''}`,
	);
	return [
		`# ${description.displayName}`,
		'',
		`<!-- Generated by \`npm run docs\` from the node's description and README.md; do not edit. -->`,
		'',
		`${description.description}. Type \`${type}\`, version ${JSON.stringify(description.version)}.`,
		'',
		`- **Inputs**: ${connectionNames(description.inputs)}`,
		`- **Outputs**: ${connectionNames(description.outputs)}${description.outputNames ? ` (${description.outputNames.join(', ')})` : ''}`,
		`- **Credentials**: ${credentials.join(', ') || 'none'}`,
		...(description.usableAsTool ? ['- **Usable as a tool** by AI agents'] : []),
		'',
		`![The ${description.displayName} panel in n8n's editor](images/${page}.png)`,
		'',
		`*Its panel in n8n ${N8N_VERSION}'s editor, taken by \`test/e2e/editor.test.ts\` (\`OPENAGENTS_DOCS_SCREENSHOTS=1\`).*`,
		'',
		'## What it does',
		'',
		readmeSection(README_SECTION[page]),
		'',
		'## Parameters',
		'',
		'| Parameter | Name | Type | Default | Shown when | Description |',
		'|---|---|---|---|---|---|',
		...rows(description.properties),
		'',
		'## Examples',
		'',
		...(examples.length
			? examples.map((f) => `- [examples/${f}](../../examples/${f})`)
			: ['- none yet']),
		'',
	].join('\n');
}

/** Every page, by file name. */
export function nodePages(): Record<string, string> {
	const pages: Record<string, string> = {};
	for (const file of manifest.n8n.nodes) {
		const [, page, fileName] = file.match(/nodes\/([^/]+)\/([^/]+)$/)!;
		const className = fileName.split('.')[0];
		const source = join(ROOT, file.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		// eslint-disable-next-line @typescript-eslint/no-require-imports -- node classes are loaded by path, as n8n loads them
		const Class = require(source)[className] as new () => { description: INodeTypeDescription };
		pages[`${page}.md`] = nodePage(page, new Class().description);
	}
	return pages;
}

if (require.main === module) {
	const dir = join(ROOT, 'docs', 'nodes');
	mkdirSync(dir, { recursive: true });
	for (const [file, page] of Object.entries(nodePages())) writeFileSync(join(dir, file), page);
	console.log(`docs/nodes: ${Object.keys(nodePages()).length} pages written`);
}
