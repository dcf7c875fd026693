/**
 * The fault script: during the middle three fifths of the run, in turn, a worker is killed (SIGKILL, as a crash or
 * an OOM kill would) while it runs executions and started again, the memory store's private redis-server is killed
 * and started again after 5 s on the same data, and the model stalls (every chat completion answered only after STALL_MS for STALL_WINDOW_MS)
 * — each `rounds` times, evenly spaced. Faults run one after another: a slow worker start delays the next.
 */
import type { SoakStack } from './stack';

type FaultKind = 'worker killed' | 'memory Redis killed' | 'model stalled';

export interface FaultEvent {
	kind: FaultKind;
	/** e.g. worker-2 (pid 1234) */
	target: string;
	/** When it began (ms since the load started) and when the stack was whole again (restart done, stall over). */
	atMs: number;
	recoveredAfterMs: number;
}

const KINDS: FaultKind[] = ['worker killed', 'memory Redis killed', 'model stalled'];
const STALL_MS = 30_000;
const STALL_WINDOW_MS = 15_000;
const REDIS_DOWN_MS = 5_000;
/** How long the model takes to answer in the moments before a worker is killed, ms. */
const BUSY_MS = 4_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function inject(stack: SoakStack, kind: FaultKind, round: number): Promise<string> {
	switch (kind) {
		case 'worker killed': {
			// Killed while it runs executions: the model answers slowly for a moment first, so that both workers hold
			// executions waiting for it when the kill comes (an idle worker's death would test nothing).
			const index = (round % 2) + 1;
			const worker = stack.cluster.workers.find((w) => w.name === `worker-${index}`)!;
			const target = `worker-${index} (pid ${worker.process.pid})`;
			const before = stack.model.latencyMs;
			stack.model.latencyMs = BUSY_MS;
			await sleep(BUSY_MS);
			await worker.process.kill();
			stack.model.latencyMs = before;
			await stack.cluster.startWorker(index);
			return target;
		}
		case 'memory Redis killed': {
			const target = `redis-server :${stack.memoryRedis.port} (pid ${stack.memoryRedis.pid})`;
			await stack.memoryRedis.kill();
			await sleep(REDIS_DOWN_MS);
			await stack.memoryRedis.start();
			return target;
		}
		case 'model stalled': {
			const before = stack.model.latencyMs;
			stack.model.latencyMs = STALL_MS;
			await sleep(STALL_WINDOW_MS);
			stack.model.latencyMs = before;
			return `model server, ${STALL_MS / 1000} s per answer for ${STALL_WINDOW_MS / 1000} s`;
		}
	}
}

/** Runs the script between fromMs and toMs (since `started`, performance.now()); resolves with what it did. */
export async function runFaults(
	stack: SoakStack,
	{
		started,
		fromMs,
		toMs,
		rounds,
	}: { started: number; fromMs: number; toMs: number; rounds: number },
): Promise<FaultEvent[]> {
	const events: FaultEvent[] = [];
	const total = rounds * KINDS.length;
	const slotMs = (toMs - fromMs) / total;
	for (let i = 0; i < total; i++) {
		await sleep(started + fromMs + i * slotMs - performance.now());
		const kind = KINDS[i % KINDS.length];
		const atMs = performance.now() - started;
		const target = await inject(stack, kind, Math.floor(i / KINDS.length));
		events.push({
			kind,
			target,
			atMs: Math.round(atMs),
			recoveredAfterMs: Math.round(performance.now() - started - atMs),
		});
	}
	return events;
}
