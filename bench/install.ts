/**
 * BENCH_ONLY=install: how heavy this package is to install into n8n. n8n 2.41's community-package installer is
 * replayed on the packed package (stack/n8n/community-package.ts replayN8nInstall: extract, drop dev/peer/optional
 * dependencies, `npm install --install-strategy=shallow --ignore-scripts --package-lock=false`) in an empty folder,
 * twice: the first run fills npm's cache, the second is the one reported (as an n8n that installed it before).
 * Reported: seconds, packages installed, MB on disk, `npm ls --all` exit code and its problems, ERESOLVE warnings.
 * BENCH_INSTALL_BASELINE (a tarball, e.g. an earlier release; BENCH_INSTALL_BASELINE_LABEL names it) is measured
 * the same way beside it, as `baseline`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { packPackage, replayN8nInstall } from '../stack/n8n/community-package';
import { npmEnv } from '../stack/n8n/install';

const run = promisify(execFile);

export interface InstallRun {
	seconds: number;
	packages: number;
	megabytes: number;
	npmLsExitCode: number;
	/** `npm ls` problems (invalid, missing, extraneous), one line each. */
	npmLsProblems: string[];
	eresolveWarnings: number;
}

/** `npm ls --all` in `dir`: its exit code, the packages it lists and the problems it names. */
async function npmLs(dir: string): Promise<{ code: number; packages: number; problems: string[] }> {
	const result = await run('npm', ['ls', '--all', '--parseable', '--long'], {
		cwd: dir,
		env: npmEnv(),
		maxBuffer: 64 * 1024 * 1024,
	}).then(
		({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
		(error: { code?: number; stdout?: string; stderr?: string }) => ({
			code: typeof error.code === 'number' ? error.code : 1,
			stdout: error.stdout ?? '',
			stderr: error.stderr ?? '',
		}),
	);
	const lines = result.stdout.split('\n').filter(Boolean);
	const problems = [
		...lines.filter((line) => /:(INVALID|MISSING|EXTRANEOUS)/i.test(line)),
		...result.stderr
			.split('\n')
			.filter((line) => /npm error (invalid|missing|extraneous)/i.test(line)),
	];
	// The root folder is the first line; every other line is one installed package.
	return { code: result.code, packages: lines.length - 1, problems };
}

async function installOnce(tarball: string): Promise<InstallRun> {
	const dir = mkdtempSync(join(tmpdir(), 'openagents-install-'));
	try {
		const packageDir = join(dir, 'node_modules', 'n8n-nodes-openagents');
		const started = performance.now();
		const { output } = await replayN8nInstall(tarball, packageDir, 'warn');
		const seconds = (performance.now() - started) / 1000;
		const { stdout } = await run('du', ['-sm', packageDir]);
		const ls = await npmLs(packageDir);
		return {
			seconds: Math.round(seconds * 10) / 10,
			packages: ls.packages,
			megabytes: Number(stdout.split('\t')[0]),
			npmLsExitCode: ls.code,
			npmLsProblems: ls.problems,
			eresolveWarnings: (output.match(/ERESOLVE/g) ?? []).length,
		};
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/** Cold then warm: the first run fills npm's cache. */
async function measure(tarball: string) {
	const coldCache = await installOnce(tarball);
	return { coldCache, warmCache: await installOnce(tarball) };
}

export async function install() {
	const work = mkdtempSync(join(tmpdir(), 'openagents-pack-'));
	try {
		const current = await measure(await packPackage(work));
		const baseline = process.env.BENCH_INSTALL_BASELINE;
		return {
			targets: { megabytes: 150, warmSeconds: 30, npmLsExitCode: 0, eresolveWarnings: 0 },
			...current,
			...(baseline
				? {
						baseline: {
							label: process.env.BENCH_INSTALL_BASELINE_LABEL ?? baseline.split('/').pop(),
							...(await measure(baseline)),
						},
					}
				: {}),
		};
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
}
