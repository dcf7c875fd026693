/**
 * A stand-in for `npm start`'s stack process (stack/lifecycle.ts): it starts a "server" (a sleeping child process),
 * registers its stop, prints READY <server pid>, and waits. Stopping writes the server's pid to the marker file.
 * With `starting` as second argument the server is a ManagedProcess whose stop was never registered, as when the
 * signal comes while a start still waits for its server to become ready.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

import { stopOnExit } from '../../stack/lifecycle';
import { ManagedProcess } from '../../stack/process';

const [marker, mode] = process.argv.slice(2);
const say = (line: string) => console.log(line);
if (mode === 'starting') {
	const server = ManagedProcess.spawn('server', 'sleep', ['300']);
	stopOnExit([], { say, parentCheckMs: 200 });
	console.log(`READY ${server.pid}`);
} else {
	const server = spawn('sleep', ['300'], { stdio: 'ignore' });
	stopOnExit(
		[
			async () => {
				server.kill('SIGTERM');
				writeFileSync(marker, String(server.pid));
			},
		],
		{ say, parentCheckMs: 200 },
	);
	console.log(`READY ${server.pid}`);
}
setInterval(() => undefined, 1000);
