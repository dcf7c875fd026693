/**
 * Installs the n8n release we test against once into a cache folder outside the repo, and reuses it.
 * Recipe (see shared ENVIRONMENT.md): n8n@2.41.1 with the linkedom override, `--ignore-scripts` (a Kafka native
 * build downloads sources and fails offline), then `npm rebuild isolated-vm sqlite3`. ≈ 5 min, ≈ 2.4 GB.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { sleep } from '../process';

const run = promisify(execFile);

export const N8N_VERSION = '2.41.1';

/** `$OPENAGENTS_CACHE_DIR` or `~/.cache/openagents`. */
export function cacheRoot(): string {
	return process.env.OPENAGENTS_CACHE_DIR ?? join(homedir(), '.cache', 'openagents');
}

interface N8nInstall {
	dir: string;
	/** Path of n8n's CLI script; run it with this Node (`process.execPath`). */
	bin: string;
	installedNow: boolean;
	durationMs: number;
}

/**
 * npm environment for installs under the running Node: native addons must build against this Node's headers,
 * not whatever `nodedir` a user npmrc names.
 */
export function npmEnv(): NodeJS.ProcessEnv {
	const nodeRoot = dirname(dirname(process.execPath));
	const env: NodeJS.ProcessEnv = {
		...process.env,
		PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
	};
	if (existsSync(join(nodeRoot, 'include', 'node', 'node.h'))) env.npm_config_nodedir = nodeRoot;
	return env;
}

/** Runs npm in `cwd`; returns its standard output (and its standard error after it with `withStderr`). */
export async function npm(
	args: string[],
	cwd: string,
	timeoutMs = 15 * 60_000,
	withStderr = false,
): Promise<string> {
	try {
		const { stdout, stderr } = await run('npm', args, {
			cwd,
			env: npmEnv(),
			timeout: timeoutMs,
			maxBuffer: 64 * 1024 * 1024,
		});
		return withStderr ? `${stdout}${stderr}` : stdout;
	} catch (error) {
		const e = error as { stderr?: string; message: string };
		throw new Error(
			`npm ${args.join(' ')} failed in ${cwd}: ${e.message}\n${(e.stderr ?? '').split('\n').slice(-20).join('\n')}`,
		);
	}
}

/**
 * n8n's single-process mode opens SQLite through the sqlite3 addon, which has no prebuilt binary here. `npm rebuild
 * sqlite3` can report success without building it (its install script's prebuild download fails first; seen on a
 * fresh machine, and n8n then says "SQLite package has not been found installed"), so the addon's own `node-gyp
 * rebuild` runs whenever the binary is missing. Throws when it still is.
 */
async function ensureSqliteBuilt(dir: string): Promise<void> {
	const pkg = join(dir, 'node_modules', 'sqlite3');
	const addon = join(pkg, 'build', 'Release', 'node_sqlite3.node');
	if (existsSync(addon)) return;
	await npm(['run', 'rebuild'], pkg);
	if (!existsSync(addon))
		throw new Error(`node-gyp rebuild of sqlite3 in ${pkg} did not produce ${addon}`);
}

/** Returns the cached install, installing it first when missing. Concurrent callers wait for one install. */
export async function ensureN8nInstalled(
	log: (line: string) => void = () => {},
): Promise<N8nInstall> {
	const dir = join(cacheRoot(), `n8n-${N8N_VERSION}`);
	const marker = join(dir, '.openagents-installed');
	const bin = join(dir, 'node_modules', 'n8n', 'bin', 'n8n');
	const started = Date.now();
	if (existsSync(marker) && existsSync(bin)) {
		await ensureSqliteBuilt(dir);
		return { dir, bin, installedNow: false, durationMs: Date.now() - started };
	}

	const lock = `${dir}.lock`;
	mkdirSync(cacheRoot(), { recursive: true });
	while (true) {
		try {
			mkdirSync(lock);
			break;
		} catch {
			if (existsSync(marker))
				return { dir, bin, installedNow: false, durationMs: Date.now() - started };
			await sleep(2000); // another process is installing
		}
	}
	try {
		if (existsSync(marker))
			return { dir, bin, installedNow: false, durationMs: Date.now() - started };
		log(`Installing n8n ${N8N_VERSION} into ${dir} (once; about 5 minutes)...`);
		rmSync(dir, { recursive: true, force: true });
		mkdirSync(dir, { recursive: true });
		writeFileSync(
			join(dir, 'package.json'),
			JSON.stringify(
				{
					name: 'openagents-n8n-runtime',
					private: true,
					dependencies: { n8n: N8N_VERSION },
					overrides: { linkedom: '0.18.14' },
				},
				null,
				2,
			),
		);
		await npm(['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], dir);
		await npm(['rebuild', 'isolated-vm', 'sqlite3'], dir);
		await ensureSqliteBuilt(dir);
		const version = JSON.parse(
			readFileSync(join(dir, 'node_modules', 'n8n', 'package.json'), 'utf8'),
		).version;
		if (version !== N8N_VERSION)
			throw new Error(`Expected n8n ${N8N_VERSION}, installed ${version}`);
		writeFileSync(marker, new Date().toISOString());
		log(`n8n ${N8N_VERSION} installed in ${Math.round((Date.now() - started) / 1000)} s`);
		return { dir, bin, installedNow: true, durationMs: Date.now() - started };
	} finally {
		rmSync(lock, { recursive: true, force: true });
	}
}
