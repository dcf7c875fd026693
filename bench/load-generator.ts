/**
 * The queue-scaling benchmark's load generator, run as its own process so that its CPU time is counted apart from
 * the offline model server's (which runs in the benchmark's process):
 * `node --import tsx bench/load-generator.ts '<LoadSpec as JSON>'`.
 * It sends `warmUp` requests (not measured), waits `settleMs` (so that the servers' statistics of the warm-up are
 * flushed before the window opens), prints `{"event":"start"}`, sends `total` requests with `inFlight` at once, then
 * prints `{"event":"end","figures":…}` with the pool's figures. The benchmark snapshots every process's CPU time
 * (this one's too) on those two lines.
 */
import { pool, postJson } from './load';

export interface LoadSpec {
	url: string;
	path: string;
	headers: Record<string, string>;
	/**
	 * The JSON body; `runField`, when given, is set to `<runPrefix>-<the request's number>` (so that every request,
	 * of this load or any other, is a new run).
	 */
	body: Record<string, unknown>;
	runField?: string;
	runPrefix?: string;
	/** Which answer counts as right (see CHECKS). */
	check: keyof typeof CHECKS;
	warmUp: number;
	total: number;
	inFlight: number;
	settleMs: number;
}

/** A wrong answer fails the request (so a broken flow fails the benchmark instead of looking fast). */
export const CHECKS = {
	research: (r: { planStatus?: string; answer?: string }) =>
		r.planStatus === 'completed' && String(r.answer ?? '').length > 0,
	agent: (r: { output?: string }) => String(r.output).includes('Done:'),
};

async function main() {
	const spec = JSON.parse(process.argv[2]) as LoadSpec;
	let run = 0;
	const call = () =>
		postJson(
			{ url: spec.url },
			spec.path,
			spec.runField ? { ...spec.body, [spec.runField]: `${spec.runPrefix}-${run++}` } : spec.body,
			CHECKS[spec.check] as (value: unknown) => boolean,
			spec.headers,
		);
	await pool(spec.warmUp, spec.inFlight, call);
	await new Promise((resolve) => setTimeout(resolve, spec.settleMs));
	process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`);
	const figures = await pool(spec.total, spec.inFlight, call);
	process.stdout.write(`${JSON.stringify({ event: 'end', figures })}\n`);
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack ?? String(error)}\n`);
	process.exit(1);
});
