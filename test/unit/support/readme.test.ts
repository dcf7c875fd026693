/**
 * README blocks that restate a file of the repository: the n8n rule exceptions (scripts/n8n-rule-exceptions.json) and
 * the Dependencies table (package.json). A change to either without the README fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** The text between `<!-- name: … -->` and `<!-- /name -->`. */
function block(name: string): string {
	const start = readme.indexOf(`<!-- ${name}:`);
	const end = readme.indexOf(`<!-- /${name} -->`);
	expect(start).toBeGreaterThan(-1);
	expect(end).toBeGreaterThan(start);
	return readme.slice(readme.indexOf('\n', start) + 1, end).trim();
}

interface Exception {
	rule: string;
	files?: string[];
	reason: string;
}

/** The README lines for the exceptions, one per rule and file set. */
function exceptionLines(exceptions: Exception[]): string {
	return exceptions
		.map(
			({ rule, files, reason }) =>
				`- \`${rule}\`${files ? ` (${files.map((f) => `\`${f}\``).join(', ')})` : ''}: ${reason}.`,
		)
		.join('\n');
}

it('lists every n8n rule exception, as scripts/n8n-rule-exceptions.json gives it', () => {
	const { exceptions } = JSON.parse(
		readFileSync(join(ROOT, 'scripts', 'n8n-rule-exceptions.json'), 'utf8'),
	) as { exceptions: Exception[] };
	expect(block('n8n-rule-exceptions')).toBe(exceptionLines(exceptions));
});

it('gives every runtime dependency, at its version, a row in the Dependencies table', () => {
	const rows = block('dependencies')
		.split('\n')
		.filter((line) => line.startsWith('| `'))
		.map((line) => line.split('|').map((cell) => cell.trim()));
	const listed = Object.fromEntries(rows.map((cells) => [cells[1].replace(/`/g, ''), cells[2]]));
	expect(listed).toEqual(manifest.dependencies);
	for (const cells of rows) expect(cells[3].length).toBeGreaterThan(10); // what it does
});
