/**
 * A private Redis server (Debian's redis-server) on a free port with its own directory, for tests that pause,
 * freeze, kill, stop or restart a server: the shared one on 6379 is never touched. Data is kept in an append-only file
 * (fsync always), so a restart loses nothing that was acknowledged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { freePort, ManagedProcess, waitFor } from './process';

export interface PrivateRedis {
	host: string;
	port: number;
	/** The server process's ID (a new one after restart() or start()). */
	readonly pid: number;
	/** With `tls`: the PEM certificate of the authority that signed the server's certificate (for 127.0.0.1). */
	ca?: string;
	/** Stops the server (SIGTERM) and starts it again on the same port and data. */
	restart(): Promise<void>;
	/** Ends the server at once (SIGKILL), as a crash would; its data stays for start(). */
	kill(): Promise<void>;
	/** Starts a killed server again on the same port and data; resolves when it answers. */
	start(): Promise<void>;
	/**
	 * Stops the server's process (SIGSTOP) until thaw() (SIGCONT): connections are still accepted (by the kernel) but
	 * nothing is answered, as with a server that hangs.
	 */
	freeze(): void;
	thaw(): void;
	/**
	 * Makes the server hold clients' commands for `ms` (CLIENT PAUSE): every command (`ALL`) or only writes (`WRITE`,
	 * so connecting and reading go on); held commands run when the pause ends, unless their client has gone.
	 */
	pause(ms: number, mode?: 'ALL' | 'WRITE'): Promise<void>;
	/** A client of this server (the caller quits it). */
	client(): Redis;
	stop(): Promise<void>;
}

/** A CA and a server certificate it signed for 127.0.0.1 (openssl), written into dir; returns the CA's PEM. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string; caFile: string } {
	const file = (name: string) => join(dir, name);
	const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
	openssl(
		'req',
		'-x509',
		'-newkey',
		'rsa:2048',
		'-nodes',
		'-days',
		'1',
		'-subj',
		'/CN=OpenAgents test CA',
		'-keyout',
		file('ca.key'),
		'-out',
		file('ca.pem'),
	);
	openssl(
		'req',
		'-newkey',
		'rsa:2048',
		'-nodes',
		'-subj',
		'/CN=127.0.0.1',
		'-keyout',
		file('server.key'),
		'-out',
		file('server.csr'),
	);
	writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
	openssl(
		'x509',
		'-req',
		'-in',
		file('server.csr'),
		'-CA',
		file('ca.pem'),
		'-CAkey',
		file('ca.key'),
		'-CAcreateserial',
		'-days',
		'1',
		'-extfile',
		file('san.ext'),
		'-out',
		file('server.pem'),
	);
	return {
		ca: readFileSync(file('ca.pem'), 'utf8'),
		cert: file('server.pem'),
		key: file('server.key'),
		caFile: file('ca.pem'),
	};
}

type Certificates = ReturnType<typeof makeCertificates>;

/** redis-server's command line: listen on `port` (TLS only with `certificates`), append-only data in `dir`. */
function serverArgs(
	host: string,
	port: number,
	dir: string,
	certificates?: Certificates,
): string[] {
	const listen = certificates
		? [
				'--port',
				'0',
				'--tls-port',
				String(port),
				'--tls-cert-file',
				certificates.cert,
				'--tls-key-file',
				certificates.key,
				'--tls-ca-cert-file',
				certificates.caFile,
				'--tls-auth-clients',
				'no',
			]
		: ['--port', String(port)];
	return [
		'--bind',
		host,
		...listen,
		'--dir',
		dir,
		'--save',
		'',
		'--appendonly',
		'yes',
		'--appendfsync',
		'always',
	];
}

/** True when a fresh connection to the server answers PING; undefined (not yet) otherwise. */
async function answersPing(host: string, port: number, ca?: string): Promise<true | undefined> {
	const probe = new Redis({
		host,
		port,
		tls: ca ? { ca } : undefined,
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
}

/** Waits up to 10 s for the server on `port` to answer PING. */
async function waitUntilUp(host: string, port: number, ca?: string): Promise<void> {
	await waitFor(`redis-server on port ${port}`, () => answersPing(host, port, ca), 10_000, 100);
}

/**
 * Starts the server (on `port`, default a free one). With `tls`, it speaks only TLS (no client certificates), its certificate signed by a CA made
 * for the occasion (`ca` on the result): a client that does not trust that CA cannot connect.
 */
export async function startRedis(
	options: { tls?: boolean; port?: number } = {},
): Promise<PrivateRedis> {
	const host = '127.0.0.1';
	const port = options.port ?? (await freePort());
	const dir = mkdtempSync(join(tmpdir(), 'openagents-redis-'));
	const certificates = options.tls ? makeCertificates(dir) : undefined;
	const ca = certificates?.ca;
	const args = serverArgs(host, port, dir, certificates);
	let server: ManagedProcess;
	// Assigned before waiting, so stop() ends a restarted server even when it never came up.
	const launch = async () => {
		server = ManagedProcess.spawn('redis', 'redis-server', args, {
			logFile: join(dir, 'redis.log'),
		});
		await waitUntilUp(host, port, ca);
	};
	await launch();
	const client = () => new Redis({ host, port, tls: ca ? { ca } : undefined });
	return {
		host,
		port,
		ca,
		client,
		get pid() {
			return server.pid;
		},
		async restart() {
			await server.stop('SIGTERM', 5000);
			await launch();
		},
		async kill() {
			await server.kill();
		},
		async start() {
			if (!server.running) await launch();
		},
		freeze() {
			process.kill(server.pid, 'SIGSTOP');
		},
		thaw() {
			process.kill(server.pid, 'SIGCONT');
		},
		async pause(ms, mode = 'ALL') {
			const admin = client();
			try {
				await admin.call('CLIENT', 'PAUSE', String(ms), mode);
			} finally {
				admin.disconnect();
			}
		},
		async stop() {
			if (server.running) process.kill(server.pid, 'SIGCONT'); // a frozen server cannot act on SIGTERM
			await server.stop('SIGTERM', 5000);
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
