/**
 * CPU time of processes as Linux counts it in /proc, for benchmarks that ask which process spends the cores:
 * /proc/<pid>/stat fields 14 and 15 (utime, stime: ticks in user and kernel mode of the process itself, all its
 * threads; its children are not included), in clock ticks of `getconf CLK_TCK` (100 on Linux x86-64), and the
 * machine's busy and total ticks from the first line of /proc/stat. Linux only; a process that is gone reads as
 * undefined.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
	pid: number;
	/** The executable's name as the kernel keeps it (at most 15 characters; may hold spaces and parentheses). */
	comm: string;
	ppid: number;
	/** Process group: a ManagedProcess's children (n8n's task runners) share the group of the process started. */
	pgrp: number;
	/** Clock ticks in user mode and in kernel mode. */
	utime: number;
	stime: number;
}

/**
 * Parses the one line of /proc/<pid>/stat. The command name sits in parentheses and may itself contain `) `, so the
 * fields are counted from the last `)`. Throws on a line that is not a stat line.
 */
export function parseStat(line: string): ProcStat {
	const open = line.indexOf('(');
	const close = line.lastIndexOf(')');
	if (open < 0 || close < open)
		throw new Error(`not a /proc/<pid>/stat line: ${line.slice(0, 80)}`);
	// After the name: field 3 (state) is rest[0], so field n is rest[n - 3].
	const rest = line
		.slice(close + 2)
		.trim()
		.split(' ');
	const field = (n: number) => {
		const value = Number(rest[n - 3]);
		if (!Number.isInteger(value))
			throw new Error(`/proc/<pid>/stat field ${n} is not a number: ${line.slice(0, 80)}`);
		return value;
	};
	return {
		pid: Number(line.slice(0, open).trim()),
		comm: line.slice(open + 1, close),
		ppid: field(4),
		pgrp: field(5),
		utime: field(14),
		stime: field(15),
	};
}

/** /proc/<pid>/stat parsed, or undefined when the process is gone (or not readable). */
export function readStat(pid: number): ProcStat | undefined {
	try {
		return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
	} catch {
		return undefined;
	}
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`: the unit of utime and stime, ticks per second. */
export function clockTicksPerSecond(): number {
	ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
	if (!(ticksPerSecond > 0)) throw new Error(`getconf CLK_TCK gave ${ticksPerSecond}`);
	return ticksPerSecond;
}

/** Every live process's stat (those that end while the directory is read are skipped). */
export function allStats(): ProcStat[] {
	return readdirSync('/proc')
		.filter((name) => /^\d+$/.test(name))
		.map((name) => readStat(Number(name)))
		.filter((s): s is ProcStat => s !== undefined);
}

/** The machine's CPU ticks since boot, all cores together: busy (everything but idle and iowait) and total. */
export function machineTicks(): { busy: number; total: number } {
	const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
	if (!line.startsWith('cpu ')) throw new Error(`unexpected /proc/stat: ${line.slice(0, 80)}`);
	// user nice system idle iowait irq softirq steal (guest time is already in user).
	const [user, nice, system, idle, iowait, irq, softirq, steal] = line
		.slice(4)
		.trim()
		.split(/\s+/)
		.map(Number);
	const busy = user + nice + system + irq + softirq + steal;
	return { busy, total: busy + idle + iowait };
}

/** A named set of processes whose CPU time is summed, e.g. one n8n worker and its task runner. */
export interface ProcessSet {
	name: string;
	/** The processes of the set at the moment of a snapshot. */
	pids(stats: ProcStat[]): number[];
}

/** The processes of one process group (a ManagedProcess and everything it spawned). */
export const processGroup = (name: string, pgid: number): ProcessSet => ({
	name,
	pids: (stats) => stats.filter((s) => s.pgrp === pgid).map((s) => s.pid),
});

/** Fixed process IDs (e.g. a server's backends, listed by the server itself). */
export const processIds = (name: string, ids: () => number[]): ProcessSet => ({
	name,
	pids: () => ids(),
});

export interface CpuSnapshot {
	at: number;
	machine: { busy: number; total: number };
	/** Per set: ticks per process ID. */
	sets: Map<string, Map<number, number>>;
}

/** Reads every set's processes' utime + stime, and the machine's ticks, at one moment. */
export function cpuSnapshot(sets: ProcessSet[]): CpuSnapshot {
	const stats = allStats();
	const byPid = new Map(stats.map((s) => [s.pid, s]));
	return {
		at: performance.now(),
		machine: machineTicks(),
		sets: new Map(
			sets.map((set) => [
				set.name,
				new Map(
					set.pids(stats).flatMap((pid) => {
						const stat = byPid.get(pid) ?? readStat(pid);
						return stat ? [[pid, stat.utime + stat.stime] as [number, number]] : [];
					}),
				),
			]),
		),
	};
}

export interface CpuUsage {
	name: string;
	/** CPU time between the two snapshots, ms (ticks × 1000 / CLK_TCK: 10 ms resolution per process). */
	cpuMs: number;
	/** Share of the machine's cores over the window: cpuMs ÷ (window × cores), percent. */
	percentOfCores: number;
	/** Processes counted (seen in either snapshot). */
	processes: number;
}

/**
 * CPU time each set spent between two snapshots. A process seen only in the second counts from 0 (it started in
 * the window); one seen only in the first is left out (its last ticks are lost with it, undercounting a little).
 * Also: the window (ms), the cores, and the machine's busy share (every process on it, ours or not), percent.
 */
export function cpuBetween(
	before: CpuSnapshot,
	after: CpuSnapshot,
	cores: number,
): { windowMs: number; machineBusyPercent: number; usage: CpuUsage[] } {
	const tickMs = 1000 / clockTicksPerSecond();
	const windowMs = after.at - before.at;
	const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
	const usage = [...after.sets].map(([name, ticks]) => {
		const earlier = before.sets.get(name) ?? new Map<number, number>();
		let spent = 0;
		for (const [pid, t] of ticks) spent += t - (earlier.get(pid) ?? 0);
		const cpuMs = spent * tickMs;
		return {
			name,
			cpuMs: round(cpuMs, 0),
			percentOfCores: round((cpuMs / (windowMs * cores)) * 100),
			processes: new Set([...ticks.keys(), ...earlier.keys()]).size,
		};
	});
	const total = after.machine.total - before.machine.total;
	return {
		windowMs: Math.round(windowMs),
		machineBusyPercent:
			total > 0 ? round(((after.machine.busy - before.machine.busy) / total) * 100) : 0,
		usage,
	};
}
