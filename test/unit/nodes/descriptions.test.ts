/**
 * What n8n's linter makes us write as literals in node descriptions still equals the constants the code runs on,
 * and every documentation link of a node or credential points at a section the README has.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ICredentialType, INodeProperties, INodeType } from 'n8n-workflow';

import { DASHBOARD_RANGES } from '../../../lib/jobs';
import { DEFAULT_CHUNKING, DEFAULT_KEYWORD_WEIGHT } from '../../../lib/rag';
import { DEFAULT_RETRY_POLICY_CONFIG } from '../../../lib/retry';
import { LLM_CALL_TIMEOUT_MS, modelTimeoutOption } from '../../../nodes/shared/fields/modelCalls';
import { retryPolicyProperty } from '../../../nodes/shared/fields/retryPolicy';

const ROOT = join(__dirname, '..', '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** Loads the package's node or credential classes from source, by the paths package.json gives n8n. */
function load<T>(files: string[]): Array<{ file: string; instance: T }> {
	return files.map((file) => {
		const source = join(ROOT, file.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		const className = file.split('/').pop()!.split('.')[0];
		// eslint-disable-next-line @typescript-eslint/no-require-imports -- classes are loaded by path, as n8n loads them
		return { file, instance: new (require(source)[className])() as T };
	});
}
const nodes = load<INodeType>(manifest.n8n.nodes);
const credentials = load<ICredentialType>(manifest.n8n.credentials);

/** Every parameter of a description, options of collections included. */
function allProperties(properties: INodeProperties[]): INodeProperties[] {
	return properties.flatMap((p) => [
		p,
		...allProperties((p.options ?? []).filter((o): o is INodeProperties => 'displayName' in o)),
	]);
}
const parameter = (nodeName: string, name: string) => {
	const node = nodes.find((n) => n.instance.description.name === nodeName)!;
	return allProperties(node.instance.description.properties).filter((p) => p.name === name);
};

describe('literal defaults equal the constants the code runs on', () => {
	it('Retry Policy', () => {
		const options = Object.fromEntries(
			(retryPolicyProperty.options as INodeProperties[]).map((o) => [o.name, o.default]),
		);
		expect(options).toMatchObject(DEFAULT_RETRY_POLICY_CONFIG);
	});

	it('Model Call Timeout', () => {
		expect((modelTimeoutOption.default as number) * 1000).toBe(LLM_CALL_TIMEOUT_MS);
	});

	it('Knowledge Base Ingest chunking', () => {
		expect(parameter('openAgentsKnowledgeBase', 'chunkSize')[0].default).toBe(
			DEFAULT_CHUNKING.chunkSize,
		);
		expect(parameter('openAgentsKnowledgeBase', 'chunkOverlap')[0].default).toBe(
			DEFAULT_CHUNKING.chunkOverlap,
		);
	});

	it('Knowledge Base hybrid fusion and keyword weight', () => {
		const [fusion] = parameter('openAgentsKnowledgeBase', 'fusion');
		expect(fusion.default).toBe('convex');
		expect(parameter('openAgentsKnowledgeBase', 'keywordWeight')[0].default).toBe(
			DEFAULT_KEYWORD_WEIGHT.convex,
		);
		expect((fusion.options as Array<{ value: string }>).map((o) => o.value).sort()).toEqual(
			Object.keys(DEFAULT_KEYWORD_WEIGHT).sort(),
		);
	});

	it('Render Dashboard time ranges', () => {
		const [range] = parameter('openAgentsJobMonitor', 'range');
		const values = (range.options as Array<{ value: string }>).map((o) => o.value);
		expect(values.filter((v) => v !== 'custom').sort()).toEqual(
			Object.keys(DASHBOARD_RANGES).sort(),
		);
		expect(values).toContain(range.default);
	});
});

describe('documentation links', () => {
	/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
	const slug = (heading: string) =>
		heading
			.toLowerCase()
			.replace(/[^\p{L}\p{N}\s-]/gu, '')
			.replace(/\s/g, '-');
	const anchors = new Set(
		readFileSync(join(ROOT, 'README.md'), 'utf8')
			.split('\n')
			.filter((line) => /^#{1,4} /.test(line))
			.map((line) => slug(line.replace(/^#+ /, ''))),
	);
	const readme = manifest.homepage.replace(/#readme$/, '');

	it.each(nodes.map((n) => [n.file, n.instance]))(
		'%s: its codex is its .node.json and links to a README section',
		(file, node) => {
			const codex = JSON.parse(
				readFileSync(join(ROOT, file.replace(/^dist\//, '').replace(/\.js$/, '.json')), 'utf8'),
			);
			const { description } = node as INodeType;
			expect(description.codex).toEqual({
				categories: codex.categories,
				...(codex.subcategories ? { subcategories: codex.subcategories } : {}),
				resources: codex.resources,
			});
			const [{ url }] = description.codex!.resources!.primaryDocumentation!;
			const [page, anchor] = url.split('#');
			expect(page).toBe(readme);
			expect(anchors).toContain(anchor);
		},
	);

	it.each(credentials.map((c) => [c.file, c.instance]))(
		'%s: a link into the README names a section it has',
		(_file, credential) => {
			const url = String((credential as ICredentialType).documentationUrl);
			if (!url.startsWith(readme)) return; // a link to the service's own documentation
			expect(anchors).toContain(url.split('#')[1]);
		},
	);

	it('the package links its repository and README', () => {
		expect(manifest.homepage).toMatch(
			/^https:\/\/github\.com\/[^/]+\/n8n-nodes-openagents#readme$/,
		);
		expect(manifest.repository.url).toBe(`git+${readme}.git`);
		expect(readdirSync(ROOT)).toContain('LICENSE');
	});
});
