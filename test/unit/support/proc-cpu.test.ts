/** stack/proc-cpu.ts: /proc/<pid>/stat parsing, and CPU time read from /proc against Node's own count. */
import {
	clockTicksPerSecond,
	cpuBetween,
	cpuSnapshot,
	parseStat,
	processGroup,
	processIds,
	readStat,
} from '../../../stack/proc-cpu';

// A real line (kernel 6.1) with a command name that holds `) (` and spaces, as a process may name itself.
const LINE =
	'4242 (n8n ) (worker) S 4100 4200 4200 0 -1 4194560 52311 0 12 0 1234 567 3 1 20 0 11 0 98765 1300000000 60000 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';

it('reads pid, name, parent, group, utime and stime from a stat line, counting fields after the last )', () => {
	expect(parseStat(LINE)).toEqual({
		pid: 4242,
		comm: 'n8n ) (worker',
		ppid: 4100,
		pgrp: 4200,
		utime: 1234,
		stime: 567,
	});
	expect(() => parseStat('no parentheses here')).toThrow(/not a \/proc/);
});

it("counts this process's CPU time as Node does, within two 10 ms ticks and a little scheduling slack", () => {
	const sets = [processIds('self', () => [process.pid]), processGroup('nobody', -12345)];
	const before = cpuSnapshot(sets);
	const node = process.cpuUsage();
	const nodeMs = () => {
		const { user, system } = process.cpuUsage(node);
		return (user + system) / 1000;
	};
	// Until Node counts 300 ms of CPU (the wall time it takes depends on what else the cores run).
	let x = 0;
	while (nodeMs() < 300) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
	const spentMs = nodeMs();
	const after = cpuSnapshot(sets);
	const { usage, windowMs, machineBusyPercent } = cpuBetween(before, after, 1);
	const self = usage.find((u) => u.name === 'self')!;
	expect(x).toBeGreaterThan(0);
	expect(spentMs).toBeGreaterThan(300);
	// Node counts the main thread and libuv's; /proc counts every thread of the process (GC helpers too): /proc ≥ Node
	// less two ticks (utime and stime are each cut to whole ticks, so their sum can lose almost one tick each), and
	// not far above.
	expect(self.cpuMs).toBeGreaterThanOrEqual(spentMs - 2 * (1000 / clockTicksPerSecond()));
	expect(self.cpuMs).toBeLessThan(spentMs + 150);
	expect(self.processes).toBe(1);
	expect(self.percentOfCores).toBeGreaterThan(0);
	expect(windowMs).toBeGreaterThan(0);
	expect(machineBusyPercent).toBeGreaterThan(0);
	expect(usage.find((u) => u.name === 'nobody')).toEqual({
		name: 'nobody',
		cpuMs: 0,
		percentOfCores: 0,
		processes: 0,
	});
});

it('reads a process that is gone as undefined, and the tick as getconf CLK_TCK gives it', () => {
	expect(readStat(2 ** 22 + 1)).toBeUndefined();
	expect(clockTicksPerSecond()).toBe(100);
});
