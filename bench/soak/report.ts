/**
 * The soak test's result: the JSON written to bench/results/soak.json (summarize) and the README's *Fault tolerance*
 * table made from it (soakTable; test/unit/support/readme.test.ts checks that the README shows this table for the
 * JSON in the repository).
 */
import { percentile } from '../../lib/stats';
import type { FaultEvent } from './faults';
import type { FlowName } from './flows';
import type { RequestRecord } from './load';
import type { Phase } from './options';
import type { FlowOutcome } from './outcomes';
import type { ProcessSample } from './sampler';

interface Latency {
	n: number;
	p50: number | null;
	p95: number | null;
}

interface ProcessFigures {
	/** The pid measured (the last one, for a process restarted by a fault) and its samples from the warm-up on. */
	pid: number;
	rssMiB: { first: number; last: number; max: number; growthPct: number };
	fds: { first: number; last: number; max: number; growthPct: number };
	/** Every sample, for the record. */
	samples: Array<Omit<ProcessSample, 'name'>>;
}

export interface SoakResult {
	at: string;
	command: string;
	machine: { cpus: number; cpu: string; memoryGiB: number; node: string; note: string };
	settings: {
		minutes: number;
		ratePerSecond: number;
		maxInFlight: number;
		faultRounds: number;
		warmUpMinutes: number;
		/** The n8n processes' V8 heap limit, when SOAK_N8N_HEAP_MIB set one. */
		n8nHeapMiB?: number;
	};
	faults: FaultEvent[];
	requests: {
		sent: number;
		skipped: number;
		byResult: Record<string, number>;
		errorCodes: Record<string, number>;
	};
	executions: Omit<FlowOutcome, 'durationsMs' | 'lostDetails'> & {
		lostDetails: string[];
		byFlow: Record<FlowName, Omit<FlowOutcome, 'durationsMs'>>;
	};
	/** ms; client-measured for flows that answer at the end, execution start → end for approvals (which answer at once). */
	latencyMs: Record<FlowName, Record<Phase, Latency>>;
	processes: Record<string, ProcessFigures>;
	/** The largest RSS growth of any process after the warm-up, %; the issue's bound is 10. */
	maxRssGrowthPct: number;
	approvals: { decided: number; answers: Record<string, number>; errors: string[] };
}

const PHASES: Phase[] = ['before', 'during', 'after'];

function latency(values: number[]): Latency {
	const round = (x: number) => Math.round(x);
	return values.length
		? { n: values.length, p50: round(percentile(values, 50)), p95: round(percentile(values, 95)) }
		: { n: 0, p50: null, p95: null };
}

const growth = (first: number, last: number) => Math.round(((last - first) / first) * 1000) / 10;

/** Per process name: the last pid's samples taken after the warm-up (all of them when none is that late). */
function processFigures(
	samples: ProcessSample[],
	warmUpMs: number,
): Record<string, ProcessFigures> {
	const figures: Record<string, ProcessFigures> = {};
	for (const name of [...new Set(samples.map((s) => s.name))]) {
		const own = samples.filter((s) => s.name === name);
		const pid = own.at(-1)!.pid;
		const ofPid = own.filter((s) => s.pid === pid);
		const late = ofPid.filter((s) => s.atMs >= warmUpMs);
		const measured = late.length >= 2 ? late : ofPid;
		const series = (key: 'rssMiB' | 'fds') => {
			const values = measured.map((s) => s[key]);
			return {
				first: values[0],
				last: values.at(-1)!,
				max: Math.max(...values),
				growthPct: growth(values[0], values.at(-1)!),
			};
		};
		figures[name] = {
			pid,
			rssMiB: series('rssMiB'),
			fds: series('fds'),
			samples: own.map(({ name: _name, ...rest }) => rest),
		};
	}
	return figures;
}

function count<T>(values: T[], key: (v: T) => string | undefined): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const value of values) {
		const k = key(value);
		if (k !== undefined) counts[k] = (counts[k] ?? 0) + 1;
	}
	return counts;
}

export function summarize(input: {
	at: string;
	command: string;
	machine: SoakResult['machine'];
	settings: SoakResult['settings'];
	phaseAt: (ms: number) => Phase;
	records: RequestRecord[];
	skipped: number;
	faults: FaultEvent[];
	outcomes: Record<FlowName, FlowOutcome>;
	samples: ProcessSample[];
	approvals: SoakResult['approvals'];
}): SoakResult {
	const flows = Object.keys(input.outcomes) as FlowName[];
	const total = {
		started: 0,
		succeeded: 0,
		failed: 0,
		lost: 0,
		codes: {} as Record<string, number>,
		lostDetails: [] as string[],
	};
	const byFlow = {} as SoakResult['executions']['byFlow'];
	for (const flow of flows) {
		const { durationsMs: _durations, ...outcome } = input.outcomes[flow];
		byFlow[flow] = outcome;
		total.started += outcome.started;
		total.succeeded += outcome.succeeded;
		total.failed += outcome.failed;
		total.lost += outcome.lost;
		for (const [code, n] of Object.entries(outcome.codes))
			total.codes[code] = (total.codes[code] ?? 0) + n;
		total.lostDetails.push(...outcome.lostDetails.map((d) => `${flow}: ${d}`));
	}
	const latencyMs = {} as SoakResult['latencyMs'];
	for (const flow of flows) {
		const timings =
			flow === 'approval'
				? input.outcomes[flow].durationsMs.map((d) => ({
						phase: input.phaseAt(d.startedAt),
						ms: d.ms,
					}))
				: input.records
						.filter((r) => r.flow === flow && r.result === 'ok')
						.map((r) => ({ phase: r.phase, ms: r.ms }));
		latencyMs[flow] = Object.fromEntries(
			PHASES.map((phase) => [
				phase,
				latency(timings.filter((t) => t.phase === phase).map((t) => t.ms)),
			]),
		) as Record<Phase, Latency>;
	}
	const processes = processFigures(input.samples, input.settings.warmUpMinutes * 60_000);
	return {
		at: input.at,
		command: input.command,
		machine: input.machine,
		settings: input.settings,
		faults: input.faults,
		requests: {
			sent: input.records.length,
			skipped: input.skipped,
			byResult: count(input.records, (r) => r.result),
			errorCodes: count(input.records, (r) =>
				r.result === 'ok' ? undefined : `${r.flow}: ${r.code ?? r.result}`,
			),
		},
		executions: { ...total, byFlow },
		latencyMs,
		processes,
		maxRssGrowthPct: Math.max(...Object.values(processes).map((p) => p.rssMiB.growthPct)),
		approvals: input.approvals,
	};
}

const FLOW_NAMES: Record<FlowName, string> = {
	chat: 'chat with memory (example 2, streamed)',
	chatCompletions: 'chat completions, streamed (example 8)',
	approval: 'approval-gated agent (example 6, until decided)',
	research: 'planner research (example 3)',
	ingest: 'ingest (example 1)',
};

const ms = (l: Latency) =>
	l.p50 === null ? '–' : `${l.p50.toLocaleString('en-US')} / ${l.p95!.toLocaleString('en-US')}`;

/** The README's soak table (markdown) for a result. */
export function soakTable(result: SoakResult): string {
	const faults = count(result.faults, (f) => f.kind);
	const lines = [
		`Soak (\`${result.command}\`): ${result.settings.minutes} min at ${result.settings.ratePerSecond} requests/s, measured ${result.at.slice(0, 10)} on ${result.machine.cpus} × ${result.machine.cpu}, ${result.machine.memoryGiB} GiB (${result.machine.note}); faults: ${Object.entries(
			faults,
		)
			.map(([kind, n]) => `${kind} × ${n}`)
			.join(', ')}.`,
		'',
		`Requests sent: ${result.requests.sent} (${Object.entries(result.requests.byResult)
			.map(([outcome, n]) => `${outcome} ${n}`)
			.join(
				', ',
			)} as the client saw them; ${result.requests.skipped} not sent because ${result.settings.maxInFlight} were open).`,
		'',
		'| flow | executions started | succeeded | failed (codes) | lost | p50 / p95 ms before faults | during | after |',
		'|---|---|---|---|---|---|---|---|',
	];
	const codes = (c: Record<string, number>) =>
		Object.keys(c).length
			? ` (${Object.entries(c)
					.map(([code, n]) => `\`${code}\` ${n}`)
					.join(', ')})`
			: '';
	for (const [flow, outcome] of Object.entries(result.executions.byFlow) as Array<
		[FlowName, SoakResult['executions']['byFlow'][FlowName]]
	>) {
		const l = result.latencyMs[flow];
		lines.push(
			`| ${FLOW_NAMES[flow]} | ${outcome.started} | ${outcome.succeeded} | ${outcome.failed}${codes(outcome.codes)} | ${outcome.lost} | ${ms(l.before)} | ${ms(l.during)} | ${ms(l.after)} |`,
		);
	}
	const e = result.executions;
	lines.push(
		`| **all** | ${e.started} | ${e.succeeded} | ${e.failed}${codes(e.codes)} | **${e.lost}** | | | |`,
	);
	lines.push(
		'',
		'| process | RSS after warm-up → end (MiB) | growth | open file descriptors after warm-up → end |',
		'|---|---|---|---|',
	);
	for (const [name, p] of Object.entries(result.processes))
		lines.push(
			`| ${name} | ${p.rssMiB.first} → ${p.rssMiB.last} (max ${p.rssMiB.max}) | ${p.rssMiB.growthPct} % | ${p.fds.first} → ${p.fds.last} (max ${p.fds.max}) |`,
		);
	return lines.join('\n');
}
