/**
 * ManagedProcess with a log file: the process writes to the file itself, so it never waits on a harness that is busy,
 * and tail() / waitForOutput() show this process's own output, not what an earlier one appended to the same file.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { assertPortFree, freePort, ManagedProcess } from '../../../stack/process';

const dir = mkdtempSync(join(tmpdir(), 'openagents-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Blocks this process's event loop for `ms`, as a harness busy with a long synchronous step does. */
const blockFor = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

it('a process logging to a file goes on writing while the harness is busy', async () => {
	const marker = join(dir, 'wrote-everything');
	// 8 MiB of output, then a marker. Through a pipe, a writer with blocking writes (a C server such as redis-server;
	// Node queues in its own memory instead) would stop once the pipe's 64 KiB are full until the harness reads.
	const script = `head -c 8388608 /dev/zero | tr '\\0' x; echo; touch '${marker}'; echo finished`;
	const proc = ManagedProcess.spawn('writer', 'sh', ['-c', script], {
		logFile: join(dir, 'writer.log'),
	});
	try {
		blockFor(5_000);
		expect(existsSync(marker)).toBe(true);
		await proc.waitForOutput(/^finished$/, 10_000);
	} finally {
		await proc.stop('SIGKILL', 1_000);
	}
}, 30_000);

it("tail() and waitForOutput() read the process's own output from a file others wrote to before", async () => {
	const logFile = join(dir, 'shared.log');
	writeFileSync(logFile, 'an earlier run said READY\nand more\n');
	const proc = ManagedProcess.spawn(
		'speaker',
		process.execPath,
		['-e', "console.log('starting'); setTimeout(() => process.stdout.write('READY now'), 200);"],
		{ logFile },
	);
	await proc.waitForOutput(/READY now/, 10_000); // the unfinished last line counts
	await proc.exited;
	expect(proc.tail()).toBe('starting\nREADY now');
}, 30_000);

it('assertPortFree passes on a free port and names the port in use', async () => {
	const port = await freePort();
	await assertPortFree(port, 'n8n');
	const server = createServer().listen(port, '127.0.0.1');
	await new Promise((resolve) => server.once('listening', resolve));
	try {
		await expect(assertPortFree(port, 'n8n')).rejects.toThrow(`Port ${port} for n8n is in use`);
	} finally {
		server.close();
	}
});
