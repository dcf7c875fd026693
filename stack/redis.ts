/**
 * A private Redis server (Debian's redis-server) on a free port with its own directory, for tests that pause,
 * stop or restart a server: the shared one on 6379 is never touched. Data is kept in an append-only file
 * (fsync always), so a restart loses nothing that was acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { freePort, ManagedProcess, waitFor } from './process';

export interface PrivateRedis {
	host: string;
	port: number;
	/** Stops the server (SIGTERM) and starts it again on the same port and data. */
	restart(): Promise<void>;
	/** Makes the server hold every client's commands for `ms` (CLIENT PAUSE ALL): they run when the pause ends. */
	pause(ms: number): Promise<void>;
	/** A client of this server (the caller quits it). */
	client(): Redis;
	stop(): Promise<void>;
}

export async function startRedis(): Promise<PrivateRedis> {
	const host = '127.0.0.1';
	const port = await freePort();
	const dir = mkdtempSync(join(tmpdir(), 'openagents-redis-'));
	const args = [
		'--bind',
		host,
		'--port',
		String(port),
		'--dir',
		dir,
		'--save',
		'',
		'--appendonly',
		'yes',
		'--appendfsync',
		'always',
	];
	let server: ManagedProcess;
	const launch = async () => {
		server = ManagedProcess.spawn('redis', 'redis-server', args, {
			logFile: join(dir, 'redis.log'),
		});
		await waitFor(
			`redis-server on port ${port}`,
			async () => {
				const probe = new Redis({
					host,
					port,
					lazyConnect: true,
					maxRetriesPerRequest: 0,
					retryStrategy: () => null,
				});
				probe.on('error', () => undefined); // not up yet: the next probe tries again
				try {
					await probe.connect();
					return (await probe.ping()) === 'PONG' ? true : undefined;
				} catch {
					return undefined;
				} finally {
					probe.disconnect();
				}
			},
			10_000,
			100,
		);
	};
	await launch();
	const client = () => new Redis({ host, port });
	return {
		host,
		port,
		client,
		async restart() {
			await server.stop('SIGTERM', 5000);
			await launch();
		},
		async pause(ms) {
			const admin = client();
			try {
				await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
			} finally {
				admin.disconnect();
			}
		},
		async stop() {
			await server.stop('SIGTERM', 5000);
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
