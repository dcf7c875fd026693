import { readFileSync } from 'node:fs';

import { percentile } from '../lib/stats';

export function summary(values: readonly number[]) {
	const round = (x: number) => Math.round(x * 1000) / 1000;
	return {
		n: values.length,
		p50: round(percentile(values, 50)),
		p95: round(percentile(values, 95)),
		p99: round(percentile(values, 99)),
		max: round(Math.max(...values)),
	};
}

/** Resident memory of a process, bytes (Linux /proc); 0 once it has ended. */
export function rssBytes(pid: number): number {
	try {
		const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) * 1024 : 0;
	} catch {
		return 0; // the process has ended
	}
}
