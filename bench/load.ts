/** Load patterns shared by the side-by-side benchmarks. */
import { summary } from './stats';

export interface VariantFigures {
	executionsPerSecond: number;
	latencyMs: ReturnType<typeof summary>;
}

/** a / b to 3 decimals: the form every comparison reports. */
export const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

/**
 * Runs the variants in alternating rounds so that machine noise hits all alike: each round sends `concurrency` calls
 * to one variant and waits for all of them, then the next variant; the order flips every round.
 * A call throws when its result is wrong (so a broken variant fails the benchmark instead of looking fast).
 * Returns per variant: executions/s over the time its own rounds took, and call latency p50/p95/p99/max (ms).
 */
export async function alternating<K extends string>(
	variants: Record<K, (call: number) => Promise<unknown>>,
	{ rounds, concurrency, warmUpRounds = 2 }: { rounds: number; concurrency: number; warmUpRounds?: number },
): Promise<Record<K, VariantFigures>> {
	const names = Object.keys(variants) as K[];
	const latencies = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
	const elapsed = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
	let call = 0;
	for (let round = -warmUpRounds; round < rounds; round++) {
		for (const name of round % 2 ? [...names].reverse() : names) {
			const started = performance.now();
			const times = await Promise.all(
				Array.from({ length: concurrency }, async () => {
					const t = performance.now();
					await variants[name](call++);
					return performance.now() - t;
				}),
			);
			if (round < 0) continue;
			latencies[name].push(...times);
			elapsed[name] += performance.now() - started;
		}
	}
	return Object.fromEntries(
		names.map((n) => [n, { executionsPerSecond: Math.round((latencies[n].length / (elapsed[n] / 1000)) * 100) / 100, latencyMs: summary(latencies[n]) }]),
	) as Record<K, VariantFigures>;
}

/** POSTs `body` to a production webhook and returns the parsed JSON; throws unless HTTP 200 and `check` passes. */
export async function postJson<T = unknown>(client: { webhook(path: string, body?: unknown): Promise<Response> }, path: string, body: unknown, check: (value: T) => boolean = () => true): Promise<T> {
	const res = await client.webhook(path, body);
	const text = await res.text();
	if (res.status !== 200) throw new Error(`webhook ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
	const value = JSON.parse(text) as T;
	if (!check(value)) throw new Error(`webhook ${path}: unexpected response ${text.slice(0, 300)}`);
	return value;
}

/**
 * Runs calls 0..total-1 with at most `inFlight` at once (a new one starts as soon as one ends).
 * Returns executions/s over the whole run and call latency (ms).
 */
export async function pool(total: number, inFlight: number, call: (i: number) => Promise<unknown>): Promise<VariantFigures & { totalMs: number }> {
	const latencies: number[] = [];
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: Math.min(inFlight, total) }, async () => {
			while (next < total) {
				const i = next++;
				const t = performance.now();
				await call(i);
				latencies.push(performance.now() - t);
			}
		}),
	);
	const totalMs = performance.now() - started;
	return { executionsPerSecond: Math.round((total / (totalMs / 1000)) * 100) / 100, latencyMs: summary(latencies), totalMs: Math.round(totalMs) };
}
