/**
 * The capacity model behind docs/SCALING.md: from the CPU time each process spent per execution in the queue-scaling
 * benchmark (bench/queue-scaling.ts), the executions/s a deployment with N workers can reach on a machine (or
 * machines) with cores to spare, and which process stops it first.
 *
 * Assumptions (stated in the document too):
 *  - CPU ms per execution of each process does not depend on the load (CPU time, unlike wall time, does not grow
 *    when processes wait for a core), so the 2-core measurement carries over to bigger machines;
 *  - workers scale: each is one Node process, one core at most (its event loop), and holds `concurrency` executions
 *    at once, each lasting `latencyMs`;
 *  - singletons do not: n8n main (one event loop: every webhook, every job's result), Redis (one thread);
 *  - Postgres and Chroma are multi-core servers, given `serverCores` cores each;
 *  - the model provider is outside: it bounds by its request limit (`providerRequestsPerMinute`), not by CPU.
 */

export interface FlowCost {
	/** CPU ms per execution, all workers together. */
	workerMs: number;
	mainMs: number;
	redisMs: number;
	/** Backends of n8n's database and the server's background processes. */
	postgresMs: number;
	chromaMs: number;
	/** Chat, embeddings and other requests to the model provider per execution. */
	modelRequests: number;
	/** Execution latency with nothing waiting for a core, ms (bounds what a worker's slots can hold). */
	latencyMs: number;
}

export interface CapacityAssumptions {
	workerConcurrency: number;
	serverCores: number;
	providerRequestsPerMinute: number;
}

export const DEFAULT_ASSUMPTIONS: CapacityAssumptions = {
	workerConcurrency: 10,
	serverCores: 4,
	providerRequestsPerMinute: 10_000,
};

export interface Projection {
	workers: number;
	executionsPerSecond: number;
	/** The bound that is lowest: what to scale next. */
	boundBy: string;
	/** Cores the stack's processes use at that rate (provider excluded). */
	coresUsed: number;
	bounds: Record<string, number>;
}

/** Executions/s each part allows with `workers` workers (Infinity where a part costs nothing measurable). */
export function bounds(
	cost: FlowCost,
	workers: number,
	a: CapacityAssumptions = DEFAULT_ASSUMPTIONS,
): Record<string, number> {
	const perCore = (ms: number, cores = 1) => (ms > 0 ? (cores * 1000) / ms : Infinity);
	return {
		'workers (one core each)': workers * perCore(cost.workerMs),
		'worker slots (concurrency × workers ÷ latency)':
			(workers * a.workerConcurrency * 1000) / cost.latencyMs,
		'n8n main (one core)': perCore(cost.mainMs),
		'Redis (one core)': perCore(cost.redisMs),
		[`Postgres (${a.serverCores} cores)`]: perCore(cost.postgresMs, a.serverCores),
		[`Chroma (${a.serverCores} cores)`]: perCore(cost.chromaMs, a.serverCores),
		[`provider limit (${a.providerRequestsPerMinute.toLocaleString('en-US')} requests/min)`]:
			cost.modelRequests > 0 ? a.providerRequestsPerMinute / 60 / cost.modelRequests : Infinity,
	};
}

/** The projection for each worker count: the lowest bound, what it is, and the cores in use at that rate. */
export function project(
	cost: FlowCost,
	workerCounts: number[],
	a: CapacityAssumptions = DEFAULT_ASSUMPTIONS,
): Projection[] {
	const stackMs = cost.workerMs + cost.mainMs + cost.redisMs + cost.postgresMs + cost.chromaMs;
	return workerCounts.map((workers) => {
		const all = bounds(cost, workers, a);
		const [boundBy, rate] = Object.entries(all).reduce((low, entry) =>
			entry[1] < low[1] ? entry : low,
		);
		return {
			workers,
			executionsPerSecond: rate,
			boundBy,
			coresUsed: (rate * stackMs) / 1000,
			bounds: all,
		};
	});
}
