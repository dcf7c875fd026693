/**
 * Reads, every `everyMs`, each process's resident memory (VmRSS in /proc/<pid>/status) and open file descriptors
 * (entries of /proc/<pid>/fd: sockets, files, pipes) — Linux only — and, for an n8n process, its V8 heap in use from
 * its Prometheus endpoint (`nodejs_heap_size_used_bytes`, prom-client's default metric, which n8n exports with
 * N8N_METRICS; a worker serves it on its health-check port). The heap tells growth of JavaScript objects from growth
 * outside them (code, buffers, the allocator's arenas). A restarted process (a killed worker, the memory Redis) is
 * sampled under its new pid from then on.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessSample {
	atMs: number;
	name: string;
	pid: number;
	rssMiB: number;
	fds: number;
	/** V8 heap in use, MiB; for processes with a metrics URL that answered. */
	heapUsedMiB?: number;
}

/** A process to sample: its pid now, and where its Prometheus metrics are, if it has them. */
export interface SampledProcess {
	pid: number;
	metricsUrl?: string;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function read(pid: number): { rssMiB: number; fds: number } | undefined {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const kiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
		return {
			rssMiB: mib(kiB * 1024),
			fds: readdirSync(`/proc/${pid}/fd`).length,
		};
	} catch {
		return undefined; // it has just ended (a fault killed it): the next sample has the new pid
	}
}

/** The heap in use from a Prometheus text page (any metric prefix, e.g. n8n's `n8n_`); undefined when absent. */
export function heapUsedFrom(metrics: string): number | undefined {
	const value = /^(?:\w+_)?nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+(\S+)/m.exec(metrics)?.[1];
	return value === undefined ? undefined : mib(Number(value));
}

async function heapUsed(url: string): Promise<number | undefined> {
	try {
		const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
		return response.ok ? heapUsedFrom(await response.text()) : undefined;
	} catch {
		return undefined; // restarting, or too busy to answer in time: the sample goes without it
	}
}

export function startSampler(
	processes: () => Record<string, SampledProcess>,
	{ started, everyMs }: { started: number; everyMs: number },
): { samples: ProcessSample[]; sample(): Promise<void>; stop(): void } {
	const samples: ProcessSample[] = [];
	const sample = async () => {
		const atMs = Math.round(performance.now() - started);
		const taken = Object.entries(processes()).map(async ([name, { pid, metricsUrl }]) => {
			const figures = read(pid);
			if (!figures) return undefined;
			const heap = metricsUrl ? await heapUsed(metricsUrl) : undefined;
			return { atMs, name, pid, ...figures, ...(heap !== undefined && { heapUsedMiB: heap }) };
		});
		for (const s of await Promise.all(taken)) if (s) samples.push(s);
	};
	const timer = setInterval(() => void sample(), everyMs);
	return { samples, sample, stop: () => clearInterval(timer) };
}
