/**
 * How a long-running stack process (`npm start`) ends: everything it started is stopped, last started first, when
 * it gets SIGINT (Ctrl-C), SIGTERM or SIGHUP (a closed terminal), and when a process it was started from dies. The
 * last case matters because `npm start` runs the stack several processes below npm (npm → sh → tsx → node), and npm
 * ends on SIGTERM without passing it on (a process manager, `timeout` or a closed terminal signals npm): so the
 * stack watches every ancestor it had when it started, not only its parent. A signal during a start also ends what
 * that start had spawned so far (stopAllProcesses), though its stop was not registered yet.
 */
import { readFileSync } from 'node:fs';

import { stopAllProcesses } from './process';

export type Stopper = () => Promise<void>;

interface LifecycleOptions {
	/** Prints a line (progress and failures of the stop). */
	say: (line: string) => void;
	/** How often the ancestors are checked, ms (default 1 000). */
	parentCheckMs?: number;
	/** Ends the process; default process.exit. */
	exit?: (code: number) => void;
}

/**
 * Installs the handlers (see the file comment) for `stoppers`, which the caller fills as things start. Returns the
 * shutdown itself, for a failed start; a second call while stopping does nothing.
 */
export function stopOnExit(
	stoppers: Stopper[],
	{ say, parentCheckMs = 1_000, exit = (code) => process.exit(code) }: LifecycleOptions,
): (code: number) => Promise<void> {
	let stopping = false;
	const shutdown = async (code: number) => {
		if (stopping) return;
		stopping = true;
		clearInterval(parentCheck);
		say('Stopping...');
		for (const stop of [...stoppers].reverse())
			await stop().catch((e: Error) => say(`stop failed: ${e.message}`));
		const unregistered = await stopAllProcesses();
		if (unregistered) say(`Stopped ${unregistered} process(es) whose start had not finished.`);
		say('Stopped.');
		exit(code);
	};
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
		process.on(signal, () => void shutdown(0));
	const watched = ancestors();
	const parentCheck = setInterval(() => {
		const gone = watched.find((pid) => !alive(pid));
		if (gone === undefined && process.ppid === watched[0]) return;
		say(`A process this one was started from (${gone ?? watched[0]}) has ended.`);
		void shutdown(0);
	}, parentCheckMs);
	parentCheck.unref();
	return shutdown;
}

/** Parent process ID of `pid` from /proc (Linux), or undefined where /proc does not tell. */
function parentOf(pid: number): number | undefined {
	try {
		// /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ')'.
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
	} catch {
		return undefined;
	}
}

/** This process's ancestors, parent first, up to (not including) init; just the parent without /proc. */
function ancestors(): number[] {
	const chain = [process.ppid];
	for (let pid = parentOf(process.ppid); pid && pid > 1 && chain.length < 32; pid = parentOf(pid))
		chain.push(pid);
	return chain;
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		// EPERM: it exists, owned by someone else.
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}
