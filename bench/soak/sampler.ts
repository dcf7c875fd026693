/**
 * Reads, every `everyMs`, each process's resident memory (VmRSS in /proc/<pid>/status) and open file descriptors
 * (entries of /proc/<pid>/fd: sockets, files, pipes) — Linux only. A restarted process (a killed worker, the memory
 * Redis) is sampled under its new pid from then on.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessSample {
	atMs: number;
	name: string;
	pid: number;
	rssMiB: number;
	fds: number;
}

function read(pid: number): { rssMiB: number; fds: number } | undefined {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const kiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
		return {
			rssMiB: Math.round((kiB / 1024) * 10) / 10,
			fds: readdirSync(`/proc/${pid}/fd`).length,
		};
	} catch {
		return undefined; // it has just ended (a fault killed it): the next sample has the new pid
	}
}

export function startSampler(
	processes: () => Record<string, number>,
	{ started, everyMs }: { started: number; everyMs: number },
): { samples: ProcessSample[]; sample(): void; stop(): void } {
	const samples: ProcessSample[] = [];
	const sample = () => {
		const atMs = Math.round(performance.now() - started);
		for (const [name, pid] of Object.entries(processes())) {
			const figures = read(pid);
			if (figures) samples.push({ atMs, name, pid, ...figures });
		}
	};
	const timer = setInterval(sample, everyMs);
	return { samples, sample, stop: () => clearInterval(timer) };
}
