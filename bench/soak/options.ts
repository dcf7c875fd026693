/**
 * The soak test's settings, read from the environment:
 *  - SOAK_MINUTES (default 30): how long the load runs; the first and last fifth are without faults (before/after),
 *    the faults fall in the middle three fifths (during).
 *  - SOAK_RATE (default 0.5): requests started per second, all flows together (an open loop: a request starts on
 *    time whether or not earlier ones have ended).
 *  - SOAK_MAX_IN_FLIGHT (default 40): a request due while this many are open is skipped and counted as such.
 *  - SOAK_FAULT_ROUNDS (default 3): how often each fault (worker killed, memory Redis restarted, model stalled) happens.
 *  - SOAK_SAMPLE_SECONDS (default 60): how often each process's RSS and open file descriptors are read.
 *  - SOAK_WARMUP_MINUTES (default: the before phase): samples from then on count for the memory growth figure; for a
 *    process a fault restarted, from that long after its restart.
 *  - SOAK_FLOWS (default all): a comma-separated subset of chat, chatCompletions, approval, research, ingest.
 *  - SOAK_N8N_HEAP_MIB (default: Node's own limit): the V8 heap limit (--max-old-space-size) of every n8n process.
 *  - SOAK_PORT_BASE (default 21870): its fixed ports, below Linux's ephemeral range (32768–60999, where the e2e
 *    cluster's and `npm start`'s free ports come from) and away from `npm start`'s 5678 and the local services' ports (RabbitMQ's 25672 among them): n8n main (+0), the model
 *    server (+1), Chroma (+2) and the memory store's private redis-server (+3).
 */
import type { FlowName } from './flows';

const number = (name: string, fallback: number): number => {
	const raw = process.env[name];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isFinite(value) || value <= 0)
		throw new Error(`${name} must be a positive number, got "${raw}"`);
	return value;
};

export interface SoakOptions {
	minutes: number;
	ratePerSecond: number;
	maxInFlight: number;
	faultRounds: number;
	sampleSeconds: number;
	warmUpMinutes: number;
	n8nHeapMiB?: number;
	flows?: FlowName[];
	ports: { n8n: number; model: number; chroma: number; memoryRedis: number };
}

export function soakOptions(): SoakOptions {
	const minutes = number('SOAK_MINUTES', 30);
	const base = number('SOAK_PORT_BASE', 21870);
	return {
		minutes,
		ratePerSecond: number('SOAK_RATE', 0.5),
		maxInFlight: number('SOAK_MAX_IN_FLIGHT', 40),
		faultRounds: number('SOAK_FAULT_ROUNDS', 3),
		sampleSeconds: number('SOAK_SAMPLE_SECONDS', 60),
		warmUpMinutes: number('SOAK_WARMUP_MINUTES', minutes / 5),
		n8nHeapMiB: process.env.SOAK_N8N_HEAP_MIB ? number('SOAK_N8N_HEAP_MIB', 0) : undefined,
		flows: process.env.SOAK_FLOWS ? (process.env.SOAK_FLOWS.split(',') as FlowName[]) : undefined,
		ports: { n8n: base, model: base + 1, chroma: base + 2, memoryRedis: base + 3 },
	};
}

/** The three phases of a run, by time since the load started (ms). */
export type Phase = 'before' | 'during' | 'after';

export function phaseAt(elapsedMs: number, minutes: number): Phase {
	const fifth = (minutes * 60_000) / 5;
	if (elapsedMs < fifth) return 'before';
	return elapsedMs < 4 * fifth ? 'during' : 'after';
}
