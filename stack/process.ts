/** Child-process and port helpers shared by the Chroma launcher, the n8n cluster and `npm start`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

/** Listens on 127.0.0.1:`port` (0: any free one) and closes again; resolves with the port, rejects as listen does. */
function listenOnce(port: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(port, '127.0.0.1', () => {
			const { port: bound } = server.address() as { port: number };
			server.close(() => resolve(bound));
		});
	});
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export const freePort = (): Promise<number> => listenOnce(0);

/**
 * Throws when something already listens on 127.0.0.1:`port`: a server started there would fail while the other one
 * answered its health checks (a stack left running by an interrupted start did exactly that).
 */
export async function assertPortFree(port: number, what: string): Promise<void> {
	try {
		await listenOnce(port);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
		throw new Error(
			`Port ${port} for ${what} is in use: stop what listens there, or choose another port`,
		);
	}
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every `intervalMs` until it returns a value (not undefined); throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(
	what: string,
	probe: () => T | undefined | Promise<T | undefined>,
	timeoutMs: number,
	intervalMs = 1000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe();
		if (value !== undefined) return value;
		if (Date.now() > deadline)
			throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
		await sleep(intervalMs);
	}
}

interface ManagedProcessOptions {
	env?: NodeJS.ProcessEnv;
	cwd?: string;
	/**
	 * Where stdout and stderr go (appended). The process writes to the file itself, so a busy or paused harness never
	 * blocks it on a full pipe (a Node child queues unread output in its own memory instead, which the soak would
	 * count as growth); tail() and waitForOutput() read the file from where this process's output began. Without it,
	 * output is piped and kept in memory.
	 */
	logFile?: string;
}

/**
 * Every ManagedProcess of this process that has not exited, so that a shutdown also ends the ones no stopper knew of
 * yet (stopAllProcesses); `accepting` turns false once it has begun.
 */
const running = new Set<ManagedProcess>();
let accepting = true;

/** Lines kept for tail() and waitForOutput(); at most this many bytes of a log file are read per look. */
const KEPT_LINES = 200;
const MAX_READ_BYTES = 1 << 20;

/**
 * A child process in its own process group, so that stop() also ends what it spawned (n8n's task runners).
 * Only processes started here are ever signalled.
 */
export class ManagedProcess {
	readonly exited: Promise<number | null>;

	private readonly lines: string[] = [];

	/** The unfinished last line of the output read so far. */
	private partial = '';

	private exitCode: number | null | undefined;

	private constructor(
		readonly name: string,
		private readonly child: ChildProcess,
		private readonly log?: { file: string; position: number },
	) {
		const keep = (chunk: Buffer) => this.keep(chunk.toString('utf8'));
		child.stdout?.on('data', keep);
		child.stderr?.on('data', keep);
		this.exited = new Promise((resolve) => {
			const end = (code: number | null) => {
				if (this.exitCode !== undefined) return;
				this.exitCode = code;
				resolve(code);
			};
			child.on('exit', end);
			// A process that could not start (ENOENT, EAGAIN) emits 'error' and never 'exit'.
			child.on('error', (error) => {
				if (child.pid !== undefined) return;
				this.keep(`${error.message}\n`);
				end(null);
			});
		});
	}

	static spawn(
		name: string,
		command: string,
		args: string[],
		options: ManagedProcessOptions = {},
	): ManagedProcess {
		if (!accepting) throw new Error(`Not starting ${name}: this process is stopping`);
		const { logFile } = options;
		let fd: number | undefined;
		let log: { file: string; position: number } | undefined;
		if (logFile) {
			mkdirSync(dirname(logFile), { recursive: true });
			fd = openSync(logFile, 'a');
			log = { file: logFile, position: fstatSync(fd).size };
		}
		try {
			const child = spawn(command, args, {
				cwd: options.cwd,
				env: options.env ?? process.env,
				detached: true,
				stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
			});
			const proc = new ManagedProcess(name, child, log);
			running.add(proc);
			void proc.exited.then(() => running.delete(proc));
			return proc;
		} finally {
			if (fd !== undefined) closeSync(fd); // the child holds its own copy
		}
	}

	get pid(): number {
		return this.child.pid ?? -1;
	}

	get running(): boolean {
		return this.exitCode === undefined;
	}

	/** Last lines of output (at most 200), for error messages. */
	tail(lines = 30): string {
		return this.output().slice(-lines).join('\n');
	}

	/** Resolves when a line of output matches `pattern`; rejects if the process exits first or time runs out. */
	async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			if (this.output().some((l) => pattern.test(l))) return;
			if (!this.running)
				throw new Error(
					`${this.name} exited (code ${this.exitCode}) before printing ${pattern}:\n${this.tail()}`,
				);
			await sleep(100);
		}
		throw new Error(
			`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.tail()}`,
		);
	}

	/** Signals the whole process group; escalates to SIGKILL after `graceMs`. */
	async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
		if (!this.running) return;
		this.signalGroup(signal);
		const timer = new Promise<'timeout'>((resolve) =>
			setTimeout(() => resolve('timeout'), graceMs).unref(),
		);
		if ((await Promise.race([this.exited, timer])) === 'timeout') {
			this.signalGroup('SIGKILL');
			await this.exited;
		}
	}

	/** Ends the process at once (SIGKILL to the group), as a crash would. */
	async kill(): Promise<void> {
		if (!this.running) return;
		this.signalGroup('SIGKILL');
		await this.exited;
	}

	/** The kept lines, the unfinished last one included; reads the log file first. */
	private output(): string[] {
		this.readLog();
		return this.partial.trim() ? [...this.lines, this.partial] : this.lines;
	}

	private keep(text: string) {
		const lines = (this.partial + text).split('\n');
		this.partial = lines.pop() ?? '';
		for (const line of lines) if (line.trim()) this.lines.push(line);
		if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES);
	}

	/** Reads what the process wrote to its log file since the last look (the last MAX_READ_BYTES of it at most). */
	private readLog() {
		if (!this.log) return;
		let fd: number;
		try {
			fd = openSync(this.log.file, 'r');
		} catch {
			return; // removed with its folder
		}
		try {
			const size = fstatSync(fd).size;
			if (size < this.log.position) this.log.position = 0; // truncated
			if (size - this.log.position > MAX_READ_BYTES) {
				this.log.position = size - MAX_READ_BYTES;
				this.partial = '';
			}
			const buffer = Buffer.alloc(size - this.log.position);
			const read = readSync(fd, buffer, 0, buffer.length, this.log.position);
			this.log.position += read;
			this.keep(buffer.subarray(0, read).toString('utf8'));
		} finally {
			closeSync(fd);
		}
	}

	private signalGroup(signal: NodeJS.Signals) {
		if (this.pid <= 0) return; // never started: -(-1) would address every process we may signal
		try {
			process.kill(-this.pid, signal);
		} catch {
			// already gone
		}
	}
}

/**
 * Polls `url` until `ready(response)` holds. Fails early when `process` exits, with its last output.
 * timeoutMs: total wait, milliseconds.
 */
export async function waitForHttp(
	url: string,
	{
		timeoutMs = 60_000,
		process: proc,
		ready = (r: Response) => r.ok,
	}: { timeoutMs?: number; process?: ManagedProcess; ready?: (r: Response) => boolean } = {},
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	while (Date.now() < deadline) {
		if (proc && !proc.running)
			throw new Error(`${proc.name} exited before ${url} was ready:\n${proc.tail()}`);
		try {
			const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
			if (ready(res)) return;
			last = `HTTP ${res.status}`;
			await res.body?.cancel();
		} catch (error) {
			last = (error as Error).message;
		}
		await sleep(250);
	}
	throw new Error(
		`${url} not ready after ${timeoutMs} ms (last: ${last})${proc ? `\n${proc.tail()}` : ''}`,
	);
}

/** From now on ManagedProcess.spawn throws: the first step of a shutdown, so nothing starts into a stack being stopped. */
export function refuseNewProcesses(): void {
	accepting = false;
}

/**
 * Stops (SIGTERM, SIGKILL after `graceMs`) every ManagedProcess this process started that is still running, and
 * refuses to start new ones from then on. Resolves with how many it stopped. The last step of a shutdown
 * (stack/lifecycle.ts): it ends what started but had not yet registered its stop — n8n main while its cluster still
 * waited for it to become ready, when Ctrl-C came then. Those run in their own process groups, so the terminal's
 * signal never reached them, and a stack left behind answers the next start's health checks on the same ports.
 */
export async function stopAllProcesses(graceMs = 15_000): Promise<number> {
	refuseNewProcesses();
	const left = [...running];
	await Promise.all(left.map((proc) => proc.stop('SIGTERM', graceMs)));
	return left.length;
}
