/**
 * The steady mixed load: one request every 1 / rate seconds, taking the flows in a fixed cycle (chat and chat
 * completions most often, as interactive traffic is; planner research, approvals and ingest less), whether or not
 * earlier requests have ended (an open loop, so a slow or stalled stack sees requests pile up as it would in
 * production). A request due while `maxInFlight` are open is skipped and counted. `flows` keeps only some of the
 * cycle (SOAK_FLOWS, e.g. to tell which flow a process's growth comes with).
 */
import type { Phase } from './options';
import type { FlowName, RequestResult } from './flows';

const CYCLE: FlowName[] = [
	'chat',
	'chatCompletions',
	'approval',
	'research',
	'chat',
	'chatCompletions',
	'ingest',
];

export interface RequestRecord extends RequestResult {
	flow: FlowName;
	phase: Phase;
	/** When it was sent (ms since the load started) and how long its answer took (ms). */
	sentAtMs: number;
	ms: number;
}

export interface LoadRun {
	records: RequestRecord[];
	skipped: number;
	/** Resolves when the load has stopped and every request it sent has ended. */
	done: Promise<void>;
}

export function startLoad(
	requests: Record<FlowName, (n: number) => Promise<RequestResult>>,
	{
		ratePerSecond,
		durationMs,
		maxInFlight,
		phaseAt,
		flows,
	}: {
		ratePerSecond: number;
		durationMs: number;
		maxInFlight: number;
		phaseAt: (ms: number) => Phase;
		flows?: FlowName[];
	},
): LoadRun {
	const cycle = flows ? CYCLE.filter((flow) => flows.includes(flow)) : CYCLE;
	const run: LoadRun = { records: [], skipped: 0, done: Promise.resolve() };
	const open = new Set<Promise<void>>();
	const started = performance.now();
	const intervalMs = 1000 / ratePerSecond;
	const sendOne = (n: number) => {
		const flow = cycle[n % cycle.length];
		const sentAtMs = performance.now() - started;
		const request = requests[flow](n)
			.catch((error: Error): RequestResult => ({
				result: 'error',
				code: 'harness',
				detail: error.message,
			}))
			.then((result) => {
				run.records.push({
					...result,
					flow,
					phase: phaseAt(sentAtMs),
					sentAtMs: Math.round(sentAtMs),
					ms: Math.round(performance.now() - started - sentAtMs),
				});
			})
			.finally(() => open.delete(request));
		open.add(request);
	};
	run.done = (async () => {
		// Each send is scheduled from the start time, so the rate does not drift with the event loop's delays.
		for (let n = 0; n * intervalMs < durationMs; n++) {
			const wait = started + n * intervalMs - performance.now();
			if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
			if (open.size >= maxInFlight) run.skipped++;
			else sendOne(n);
		}
		while (open.size) await Promise.all([...open]);
	})();
	return run;
}
