/**
 * A stand-in for `npm start`'s stack process (stack/lifecycle.ts): it starts a "server" (a sleeping child process),
 * registers its stop, prints READY <server pid>, and waits. Stopping writes the server's pid to the marker file.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

import { stopOnExit } from '../../stack/lifecycle';

const marker = process.argv[2];
const server = spawn('sleep', ['300'], { stdio: 'ignore' });
stopOnExit(
	[
		async () => {
			server.kill('SIGTERM');
			writeFileSync(marker, String(server.pid));
		},
	],
	{ say: (line) => console.log(line), parentCheckMs: 200 },
);
console.log(`READY ${server.pid}`);
setInterval(() => undefined, 1000);
