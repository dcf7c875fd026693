/**
 * Installs this package into an n8n user folder the way n8n's community-package installer does
 * (n8n 2.41 CommunityPackagesService.downloadPackage): `npm pack`, extract into `<userFolder>/.n8n/nodes/node_modules/<name>`,
 * drop dev/peer/optional dependencies from its package.json, then `npm install` its production dependencies
 * with `--install-strategy=shallow --ignore-scripts`. n8n then registers node types as `n8n-nodes-openagents.<name>`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { npm } from './install';

const run = promisify(execFile);

export const REPO_ROOT = resolve(__dirname, '..', '..');
const PACKAGE_NAME: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).name;

/** Builds dist/, then `npm pack`s the repo into `outDir`; returns the tarball path. */
export async function packPackage(outDir: string): Promise<string> {
	mkdirSync(outDir, { recursive: true });
	await npm(['run', 'build', '--silent'], REPO_ROOT);
	const out = await npm(
		['pack', '--ignore-scripts', '--pack-destination', outDir, '--json', '--loglevel=error'],
		REPO_ROOT,
	);
	const [{ filename }] = JSON.parse(out) as Array<{ filename: string }>;
	return join(outDir, filename);
}

/**
 * n8n's installer on `tarball` in `packageDir` (created): the package extracted there, its dev/peer/optional
 * dependencies dropped, then `npm install` of the rest with n8n's flags. Returns npm's output (warnings included
 * at `loglevel` warn) and the stripped manifest.
 */
export async function replayN8nInstall(
	tarball: string,
	packageDir: string,
	loglevel: 'error' | 'warn' = 'error',
): Promise<{ output: string; manifest: { version: string } }> {
	mkdirSync(packageDir, { recursive: true });
	await run('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
	const manifestPath = join(packageDir, 'package.json');
	const {
		devDependencies: _d,
		peerDependencies: _p,
		optionalDependencies: _o,
		...manifest
	} = JSON.parse(readFileSync(manifestPath, 'utf8'));
	writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	const output = await npm(
		[
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
			`--loglevel=${loglevel}`,
		],
		packageDir,
		15 * 60_000,
		true,
	);
	return { output, manifest };
}

/** Installs `tarball` into `<n8nUserFolder>/.n8n/nodes` as a community package; returns the package directory. */
export async function installCommunityPackage(
	tarball: string,
	n8nUserFolder: string,
): Promise<string> {
	const nodesDir = join(n8nUserFolder, '.n8n', 'nodes');
	const packageDir = join(nodesDir, 'node_modules', PACKAGE_NAME);
	const { manifest } = await replayN8nInstall(tarball, packageDir);
	writeFileSync(
		join(nodesDir, 'package.json'),
		JSON.stringify(
			{
				name: 'installed-nodes',
				private: true,
				dependencies: { [PACKAGE_NAME]: manifest.version },
			},
			null,
			2,
		),
	);
	return packageDir;
}
