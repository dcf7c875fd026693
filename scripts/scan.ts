/**
 * `npm run scan`: n8n's community-package scanner (@n8n/scan-community-package, the analysis n8n runs before it
 * verifies a package) on this package, offline. The scanner's command line needs the public registry and the
 * package's GitHub source, so this calls its analysis the same way on the same two file sets:
 *  - the source: package.json and nodes/, credentials/ of the repository;
 *  - the tarball: every .js of the packed package (`npm pack`, dist/ built first) and its package.json.
 * Both run `analyzePackage` to its end (it reports a crash as "Analysis failed"), then the same ESLint set-up
 * (`buildScanConfig`, inline comments ignored) gives every error with its rule. The scan passes when every error is
 * a documented exception (scripts/n8n-rule-exceptions.json); it prints the errors per rule either way.
 * The scanner is installed once into the cache folder (`--ignore-scripts`: its preinstall insists on pnpm).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { cacheRoot, npm } from '../stack/n8n/install';
import { packPackage, REPO_ROOT } from '../stack/n8n/community-package';

const SCANNER_VERSION = '0.32.0';

interface Scanner {
	analyzePackage(dir: string, patterns: string[]): Promise<{ passed: boolean; message?: string }>;
	buildScanConfig(): Promise<unknown>;
}
interface LintMessage {
	ruleId: string | null;
	severity: number;
	line: number;
	message: string;
}
interface Exception {
	rule: string;
	files?: string[];
	reason: string;
}

/** The scanner, installed into the cache folder on first use. */
async function scanner(): Promise<{ dir: string; module: Scanner }> {
	const dir = join(cacheRoot(), `n8n-scan-community-package-${SCANNER_VERSION}`);
	const entry = join(
		dir,
		'node_modules',
		'@n8n',
		'scan-community-package',
		'scanner',
		'scanner.mjs',
	);
	try {
		return { dir, module: await import(pathToFileURL(entry).href) };
	} catch {
		console.log(`scan: installing @n8n/scan-community-package ${SCANNER_VERSION} into ${dir}`);
		mkdirSync(dir, { recursive: true });
		await npm(['init', '-y'], dir).catch(() => undefined);
		await npm(
			[
				'install',
				'--ignore-scripts',
				'--no-audit',
				'--no-fund',
				'--loglevel=error',
				`@n8n/scan-community-package@${SCANNER_VERSION}`,
			],
			dir,
		);
		return { dir, module: await import(pathToFileURL(entry).href) };
	}
}

/** Whether `path` (relative, with / separators) matches a glob of the exception list (`*` one segment, `**` any). */
function matches(path: string, glob: string): boolean {
	const pattern = glob
		.replace(/[.+^${}()|[\]\\]/g, '\\$&')
		.replace(/\*\*\//g, '\u0000')
		.replace(/\*\*/g, '\u0001')
		.replace(/\*/g, '[^/]*')
		.replace(/\u0000/g, '(?:.*/)?')
		.replace(/\u0001/g, '.*');
	return new RegExp(`^${pattern}$`).test(path);
}

/** Lints `patterns` under `dir` as the scanner does; every error with its file (relative to `dir`) and rule. */
async function scanErrors(
	{ dir: scannerDir, module }: { dir: string; module: Scanner },
	dir: string,
	patterns: string[],
) {
	const outcome = await module.analyzePackage(dir, patterns);
	if (outcome.message?.startsWith('Analysis failed')) throw new Error(`${dir}: ${outcome.message}`);
	// The scanner's own ESLint and fast-glob, as it resolves them.
	const scannerRequire = createRequire(join(scannerDir, 'package.json'));
	const { ESLint } = scannerRequire('eslint');
	const glob = scannerRequire('fast-glob');
	const eslint = new ESLint({
		cwd: dir,
		allowInlineConfig: false,
		overrideConfigFile: true,
		overrideConfig: await module.buildScanConfig(),
	});
	const files: string[] = glob.sync(patterns, {
		cwd: dir,
		absolute: true,
		ignore: ['node_modules/**', '**/package-lock.json'],
	});
	const results: Array<{ filePath: string; messages: LintMessage[] }> =
		await eslint.lintFiles(files);
	return results.flatMap(({ filePath, messages }) =>
		messages
			.filter((m) => m.severity === 2)
			.map((m) => ({ file: filePath.slice(dir.length + 1), rule: m.ruleId ?? '(parse)', ...m })),
	);
}

async function main(): Promise<void> {
	const { exceptions: n8nRuleExceptions } = JSON.parse(
		readFileSync(join(REPO_ROOT, 'scripts', 'n8n-rule-exceptions.json'), 'utf8'),
	) as { exceptions: Exception[] };
	const excepted = (file: string, rule: string) =>
		n8nRuleExceptions.some(
			(e) => e.rule === rule && (!e.files || e.files.some((glob) => matches(file, glob))),
		);
	const tool = await scanner();
	const work = mkdtempSync(join(tmpdir(), 'openagents-scan-'));
	try {
		const tarball = await packPackage(work);
		const packageDir = join(work, 'package');
		execFileSync('tar', ['-xzf', tarball, '-C', work]);
		const legs = [
			{
				name: 'source',
				errors: await scanErrors(tool, REPO_ROOT, [
					'package.json',
					'{nodes,credentials}/**/*.{js,ts,json}',
				]),
			},
			{ name: 'tarball', errors: await scanErrors(tool, packageDir, ['**/*.js', 'package.json']) },
		];
		let unexpected = 0;
		for (const { name, errors } of legs) {
			const byRule = new Map<string, { count: number; excepted: boolean }>();
			for (const error of errors) {
				const ok = excepted(error.file, error.rule);
				const entry = byRule.get(error.rule) ?? { count: 0, excepted: ok };
				entry.count++;
				entry.excepted &&= ok;
				byRule.set(error.rule, entry);
				if (!ok) {
					unexpected++;
					console.log(`  ${name} ${error.file}:${error.line} ${error.rule}: ${error.message}`);
				}
			}
			console.log(`scan ${name}: ${errors.length} errors`);
			for (const [rule, { count, excepted: ok }] of [...byRule].sort())
				console.log(
					`  ${String(count).padStart(4)}  ${rule}${ok ? '  (documented exception)' : ''}`,
				);
		}
		if (unexpected) {
			console.log(`scan: ${unexpected} errors are not documented exceptions`);
			process.exitCode = 1;
		} else
			console.log('scan: every error is a documented exception (scripts/n8n-rule-exceptions.json)');
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
}

void main().catch((error: Error) => {
	console.error(error.message);
	process.exitCode = 1;
});
