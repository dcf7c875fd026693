/**
 * `npm start` ends what it started on SIGINT, SIGTERM or SIGHUP, and when a process it was started from dies — as
 * when a process manager or a closed terminal signals npm, which does not pass the signal on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'openagents-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = join(__dirname, '..', '..', 'support', 'lifecycle-child.ts');
const TSX = require.resolve('tsx/cli');

const alive = (pid: number) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
};

/** Waits until `check` holds, up to `ms`. */
async function until(check: () => boolean, ms: number): Promise<void> {
	const end = Date.now() + ms;
	while (!check()) {
		if (Date.now() > end) throw new Error('timed out waiting');
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/** Resolves with the server pid once `proc`'s output says READY. */
function ready(proc: ChildProcess): Promise<number> {
	return new Promise((resolve, reject) => {
		let out = '';
		proc.stdout!.on('data', (chunk: Buffer) => {
			out += chunk.toString();
			const match = /READY (\d+)/.exec(out);
			if (match) resolve(Number(match[1]));
		});
		proc.on('exit', (code) => reject(new Error(`exited ${code} before READY: ${out}`)));
	});
}

it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
	'stops what it started on %s',
	async (signal) => {
		const marker = join(dir, `${signal}.pid`);
		const proc = spawn(process.execPath, [TSX, CHILD, marker], {
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		const server = await ready(proc);
		expect(alive(server)).toBe(true);
		// tsx runs the script in a child process and passes the signal on; the script stops its server.
		proc.kill(signal);
		await until(() => existsSync(marker), 15_000);
		expect(Number(readFileSync(marker, 'utf8'))).toBe(server);
		await until(() => !alive(server), 5_000);
	},
	30_000,
);

it('stops what it started when the process it was started from dies without passing a signal on', async () => {
	const marker = join(dir, 'parent.pid');
	// `sh` stands for npm: killed, it passes nothing to its child.
	const npm = spawn(
		'sh',
		['-c', `"${process.execPath}" "${TSX}" "${CHILD}" "${marker}"; sleep 300`],
		{
			stdio: ['ignore', 'pipe', 'inherit'],
		},
	);
	const server = await ready(npm);
	npm.kill('SIGKILL');
	await until(() => existsSync(marker), 15_000);
	expect(Number(readFileSync(marker, 'utf8'))).toBe(server);
	await until(() => !alive(server), 5_000);
}, 30_000);

it('stops a server whose start had not finished (no stop registered yet) on SIGINT', async () => {
	// Ctrl-C reaches the terminal's process group only: the server, in its own group, would outlive the stack.
	const proc = spawn(process.execPath, [TSX, CHILD, join(dir, 'unused'), 'starting'], {
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const server = await ready(proc);
	expect(alive(server)).toBe(true);
	proc.kill('SIGINT');
	await until(() => !alive(server), 20_000);
}, 30_000);
