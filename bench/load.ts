/** Load patterns shared by the side-by-side benchmarks. */
import { summary } from './stats';

export interface VariantFigures {
	/** Calls answered per second (lost ones do not count). */
	executionsPerSecond: number;
	latencyMs: ReturnType<typeof summary>;
	/** Calls n8n never answered (see LostResponseError); left out of the latency figures. */
	lostResponses: number;
}

/** No answer within RESPONSE_TIMEOUT_MS: counted as a lost response instead of failing the benchmark. */
export class LostResponseError extends Error {}

export const RESPONSE_TIMEOUT_MS = 30_000;

/** Runs one timed call: its latency in ms, or undefined when its response was lost. */
async function timed(call: () => Promise<unknown>): Promise<number | undefined> {
	const t = performance.now();
	try {
		await call();
		return performance.now() - t;
	} catch (error) {
		if (error instanceof LostResponseError) return undefined;
		throw error;
	}
}

function figures(latencies: Array<number | undefined>, elapsedMs: number): VariantFigures {
	const answered = latencies.filter((l): l is number => l !== undefined);
	return {
		executionsPerSecond: Math.round((answered.length / (elapsedMs / 1000)) * 100) / 100,
		latencyMs: summary(answered),
		lostResponses: latencies.length - answered.length,
	};
}

/** a / b to 3 decimals: the form every comparison reports. */
export const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

/**
 * Runs the variants in alternating rounds so that machine noise hits all alike: each round sends `concurrency` calls
 * to one variant and waits for all of them, then the next variant; the order flips every round.
 * A call throws when its result is wrong (so a broken variant fails the benchmark instead of looking fast).
 * Returns per variant: executions/s over the time its own rounds took, call latency p50/p95/p99/max (ms) and
 * lost responses.
 */
export async function alternating<K extends string>(
	variants: Record<K, (call: number) => Promise<unknown>>,
	{
		rounds,
		concurrency,
		warmUpRounds = 2,
	}: { rounds: number; concurrency: number; warmUpRounds?: number },
): Promise<Record<K, VariantFigures>> {
	const names = Object.keys(variants) as K[];
	const latencies = Object.fromEntries(
		names.map((n) => [n, [] as Array<number | undefined>]),
	) as Record<K, Array<number | undefined>>;
	const elapsed = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
	let call = 0;
	for (let round = -warmUpRounds; round < rounds; round++) {
		for (const name of round % 2 ? [...names].reverse() : names) {
			const started = performance.now();
			const times = await Promise.all(
				Array.from({ length: concurrency }, () => timed(() => variants[name](call++))),
			);
			if (round < 0) continue;
			latencies[name].push(...times);
			elapsed[name] += performance.now() - started;
		}
	}
	return Object.fromEntries(names.map((n) => [n, figures(latencies[n], elapsed[n])])) as Record<
		K,
		VariantFigures
	>;
}

/**
 * POSTs `body` to a production webhook and returns the parsed JSON; throws unless HTTP 200 and `check` passes,
 * LostResponseError when n8n does not answer within RESPONSE_TIMEOUT_MS.
 */
export async function postJson<T = unknown>(
	client: { url: string },
	path: string,
	body: unknown,
	check: (value: T) => boolean = () => true,
	headers: Record<string, string> = {},
): Promise<T> {
	let text: string;
	let res: Response;
	try {
		res = await fetch(`${client.url}/webhook/${path}`, {
			method: 'POST',
			headers: { ...headers, 'content-type': 'application/json' },
			body: JSON.stringify(body),
			signal: AbortSignal.timeout(RESPONSE_TIMEOUT_MS),
		});
		text = await res.text();
	} catch (error) {
		if ((error as Error).name === 'TimeoutError')
			throw new LostResponseError(`webhook ${path}: no answer within ${RESPONSE_TIMEOUT_MS} ms`);
		throw error;
	}
	if (res.status !== 200)
		throw new Error(`webhook ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
	const value = JSON.parse(text) as T;
	if (!check(value)) throw new Error(`webhook ${path}: unexpected response ${text.slice(0, 300)}`);
	return value;
}

/**
 * Runs calls 0..total-1 with at most `inFlight` at once (a new one starts as soon as one ends).
 * Returns executions/s over the whole run, call latency (ms) and lost responses.
 */
export async function pool(
	total: number,
	inFlight: number,
	call: (i: number) => Promise<unknown>,
): Promise<VariantFigures & { totalMs: number }> {
	const latencies: Array<number | undefined> = [];
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: Math.min(inFlight, total) }, async () => {
			while (next < total) {
				const i = next++;
				latencies.push(await timed(() => call(i)));
			}
		}),
	);
	const totalMs = performance.now() - started;
	return { ...figures(latencies, totalMs), totalMs: Math.round(totalMs) };
}
