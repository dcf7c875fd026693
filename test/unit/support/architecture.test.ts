/** docs/ARCHITECTURE.md, the folders and the item loop agree (the import rules themselves are ESLint's). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const architecture = readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');
const folders = (dir: string) =>
	readdirSync(join(ROOT, dir), { withFileTypes: true })
		.filter((entry) => entry.isDirectory())
		.map((entry) => entry.name);

/** Every .ts file under `dir`, relative to the repository. */
function files(dir: string): string[] {
	return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
		.filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
		.map((entry) => join(entry.parentPath, entry.name).slice(ROOT.length + 1));
}

it('names every group of nodes/shared, in the order ESLint enforces', () => {
	const eslint = readFileSync(join(ROOT, 'eslint.config.mjs'), 'utf8');
	const order = JSON.parse(
		/const sharedGroups = (\[[^\]]*\])/.exec(eslint)![1].replace(/'/g, '"'),
	) as string[];
	expect([...order].sort()).toEqual(folders('nodes/shared').sort());
	for (const group of order) expect(architecture).toContain(`nodes/shared/${group}`);
});

it('has one item loop: runItems, and Knowledge Base Ingest as the named batch exception', () => {
	const loops = files('nodes').filter((file) =>
		/for \(let itemIndex\b/.test(readFileSync(join(ROOT, file), 'utf8')),
	);
	expect(loops.sort()).toEqual([
		'nodes/KnowledgeBase/actions/ingest.ts',
		'nodes/shared/runtime/itemLoop.ts',
	]);
	expect(architecture).toMatch(/Ingest\*\* is the one batch operation/);
});

it('runs the items of every node that processes items through runItems', () => {
	const itemNodes = ['Agent', 'Planner', 'KnowledgeBase', 'Memory', 'JobMonitor'];
	for (const node of itemNodes)
		expect(readFileSync(join(ROOT, 'nodes', node, 'actions', 'router.ts'), 'utf8')).toMatch(
			/runItems\(this, \{/,
		);
	expect(
		readFileSync(
			join(ROOT, 'nodes', 'KnowledgeBaseTool', 'OpenAgentsKnowledgeBaseTool.node.ts'),
			'utf8',
		),
	).toMatch(/runItems\(this, \{/);
});
