/**
 * How a long-running stack process (`npm start`) ends: everything it started is stopped, last started first, when
 * it gets SIGINT (Ctrl-C), SIGTERM or SIGHUP (a closed terminal), and when a process it was started from dies. The
 * last case matters because `npm start` runs the stack several processes below npm (npm → sh → tsx → node), and npm
 * ends on SIGTERM without passing it on (a process manager, `timeout` or a closed terminal signals npm): so the
 * stack watches every ancestor it had when it started, not only its parent. Whatever ends it, a shutdown also ends
 * every process that no registered stop ended (stopAllProcesses): what a start still under way had spawned, or what
 * a failed stop left. From its first step no new process starts (stack/process.ts refuses them), so a process that
 * installs these handlers cannot go on spawning after a shutdown that did not exit.
 */
import { readFileSync } from 'node:fs';

import { refuseNewProcesses, stopAllProcesses } from './process';

export type Stopper = () => Promise<void>;

interface LifecycleOptions {
	/** Prints a line (progress and failures of the stop). */
	say: (line: string) => void;
	/** How often the ancestors are checked, ms (default 1 000). */
	parentCheckMs?: number;
	/** Ends the process; default process.exit. (A shutdown leaves this process unable to spawn, whatever `exit` does.) */
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
		refuseNewProcesses();
		// Last started first; a stop a start adds while these run (it finished meanwhile) runs too.
		while (stoppers.length)
			await stoppers.pop()!().catch((e: Error) => say(`stop failed: ${e.message}`));
		const left = await stopAllProcesses();
		if (left) say(`Stopped ${left} process(es) no registered stop had ended.`);
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
