/**
 * `npm start` as a user runs it, for the e2e tests: `scripts/start.ts` in its own process with `stateDir` as its state
 * folder, a free n8n port, no queue-mode or model variables inherited from the test's environment (it must start the
 * offline stack itself), and `env` on top. Resolves once it prints READY (it can take 5 minutes: Chroma, the model
 * server, n8n and the flagship run); stops it and throws when it does not.
 */
import { join } from 'node:path';

import { REPO_ROOT } from '../../stack/n8n/community-package';
import { freePort, ManagedProcess } from '../../stack/process';

const INHERITED_SETTINGS = [
	'DB_POSTGRESDB_HOST',
	'QUEUE_BULL_REDIS_HOST',
	'OPENAI_API_KEY',
	'OPENAI_BASE_URL',
	'OPENAGENTS_LLM_BASE_URL',
	'OPENAGENTS_LLM_API_KEY',
];

export async function startNpmStart(
	stateDir: string,
	env: NodeJS.ProcessEnv = {},
): Promise<ManagedProcess> {
	const childEnv: NodeJS.ProcessEnv = {
		...process.env,
		OPENAGENTS_STATE_DIR: stateDir,
		N8N_PORT: String(await freePort()),
	};
	for (const key of INHERITED_SETTINGS) delete childEnv[key];
	const stack = ManagedProcess.spawn(
		'npm start',
		process.execPath,
		[require.resolve('tsx/cli'), 'scripts/start.ts'],
		{ cwd: REPO_ROOT, env: { ...childEnv, ...env }, logFile: join(stateDir, 'start.log') },
	);
	try {
		await stack.waitForOutput(/READY\. Press Ctrl-C to stop\./, 300_000);
	} catch (error) {
		await stack.stop('SIGKILL', 1000); // the caller gets no process to stop
		throw error;
	}
	return stack;
}
