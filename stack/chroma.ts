/**
 * Starts a real Chroma server (Rust, shipped in the pinned `chromadb-js-bindings-linux-x64-gnu@1.0.2`; newer
 * builds need a newer glibc than Debian 12's) on a free port with its own data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, ManagedProcess, waitForHttp } from './process';

export interface ChromaServer {
	/** e.g. http://127.0.0.1:41234 */
	url: string;
	host: string;
	port: number;
	dataDir: string;
	process: ManagedProcess;
	stop(): Promise<void>;
}

export interface ChromaOptions {
	port?: number;
	/** Kept after stop() when given; a temporary directory (removed on stop) otherwise. */
	dataDir?: string;
	logFile?: string;
	/** Wait for the heartbeat at most this long, ms. */
	timeoutMs?: number;
}

export async function startChroma(options: ChromaOptions = {}): Promise<ChromaServer> {
	const host = '127.0.0.1';
	const port = options.port ?? (await freePort());
	const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'openagents-chroma-'));
	const bindings = require.resolve('chromadb-js-bindings-linux-x64-gnu');
	const script = `require(${JSON.stringify(bindings)}).cli(['chroma','run','--path',${JSON.stringify(dataDir)},'--host','${host}','--port','${port}'])`;
	const proc = ManagedProcess.spawn('chroma', process.execPath, ['-e', script], {
		logFile: options.logFile,
	});
	const url = `http://${host}:${port}`;
	const stop = async () => {
		await proc.stop('SIGTERM', 5000);
		if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
	};
	try {
		await waitForHttp(`${url}/api/v2/heartbeat`, {
			timeoutMs: options.timeoutMs ?? 30_000,
			process: proc,
		});
	} catch (error) {
		await stop();
		throw error;
	}
	return { url, host, port, dataDir, process: proc, stop };
}
