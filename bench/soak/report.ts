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

/** A measured process's figures: `first` and `last` are the medians of its first and last three samples (see processFigures). */
interface Series {
	first: number;
	last: number;
	max: number;
	growthPct: number;
}

interface ProcessFigures {
	/** The pid measured: the last one, for a process restarted by a fault. */
	pid: number;
	/**
	 * When its measurement began (ms since the load started): the run's warm-up for a process that ran from the start,
	 * its own first sample plus the warm-up for one a fault restarted (a new worker warms up as the first one did).
	 * Null with rss and fds when that pid had fewer than two samples after its warm-up.
	 */
	fromMs: number | null;
	rssMiB: Series | null;
	fds: Series | null;
	/** The V8 heap in use (n8n processes, when their metrics answered at every measured sample). */
	heapUsedMiB: Series | null;
	/** Every sample of every pid, for the record. */
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
	/** The largest RSS growth of any process after its warm-up, %; the issue's bound is 10. Null: none measured. */
	maxRssGrowthPct: number | null;
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

/** Per process name: its last pid's samples from that pid's own warm-up on (see ProcessFigures.fromMs). */
export function processFigures(
	samples: ProcessSample[],
	warmUpMs: number,
): Record<string, ProcessFigures> {
	const figures: Record<string, ProcessFigures> = {};
	for (const name of [...new Set(samples.map((s) => s.name))]) {
		const own = samples.filter((s) => s.name === name);
		const pid = own.at(-1)!.pid;
		const ofPid = own.filter((s) => s.pid === pid);
		const born = ofPid[0].atMs === own[0].atMs ? 0 : ofPid[0].atMs;
		const fromMs = born + warmUpMs;
		const measured = ofPid.filter((s) => s.atMs >= fromMs);
		// Each end is the median of its three samples (one each under six): one sample may catch the heap just
		// before a collection.
		const series = (key: 'rssMiB' | 'fds' | 'heapUsedMiB'): Series => {
			const values = measured.map((s) => s[key]!);
			const k = values.length >= 6 ? 3 : 1;
			const [first, last] = [values.slice(0, k), values.slice(-k)].map((end) =>
				percentile(end, 50),
			);
			return { first, last, max: Math.max(...values), growthPct: growth(first, last) };
		};
		const enough = measured.length >= 2;
		figures[name] = {
			pid,
			fromMs: enough ? fromMs : null,
			rssMiB: enough ? series('rssMiB') : null,
			fds: enough ? series('fds') : null,
			heapUsedMiB:
				enough && measured.every((s) => s.heapUsedMiB !== undefined) ? series('heapUsedMiB') : null,
			samples: own.map(({ name: _name, ...rest }) => rest),
		};
	}
	return figures;
}

/** The largest RSS growth of any process measured, %; null when none was. */
export function maxRssGrowthPct(processes: Record<string, ProcessFigures>): number | null {
	const measured = Object.values(processes).flatMap((p) => (p.rssMiB ? [p.rssMiB.growthPct] : []));
	return measured.length ? Math.max(...measured) : null;
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
		maxRssGrowthPct: maxRssGrowthPct(processes),
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

/**
 * `result` with its process figures computed again from its samples (a result written before they were measured
 * per pid, or with another warm-up).
 */
export function remeasured(result: SoakResult, warmUpMinutes: number): SoakResult {
	const samples = Object.entries(result.processes).flatMap(([name, p]) =>
		p.samples.map((s) => ({ ...s, name })),
	);
	samples.sort((a, b) => a.atMs - b.atMs);
	const processes = processFigures(samples, warmUpMinutes * 60_000);
	return {
		...result,
		settings: { ...result.settings, warmUpMinutes },
		processes,
		maxRssGrowthPct: maxRssGrowthPct(processes),
	};
}

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
	// The heap column only for a run that read it (runs before the sampler did have none).
	const heap = Object.values(result.processes).some((p) => p.heapUsedMiB);
	const columns = [
		'process',
		'measured (minutes of the run)',
		'RSS after warm-up → end (MiB)',
		'growth',
		...(heap ? ['V8 heap in use after warm-up → end (MiB)'] : []),
		'open file descriptors after warm-up → end',
	];
	lines.push('', `| ${columns.join(' | ')} |`, `|${columns.map(() => '---|').join('')}`);
	const minute = (ms: number) => Math.round(ms / 60_000);
	const heapCell = (h: Series | null) => (h ? `${h.first} → ${h.last} (${h.growthPct} %)` : '–');
	for (const [name, p] of Object.entries(result.processes)) {
		const cells =
			p.rssMiB && p.fds && p.fromMs !== null
				? [
						`pid ${p.pid}, ${minute(p.fromMs)}–${minute(p.samples.at(-1)!.atMs)}`,
						`${p.rssMiB.first} → ${p.rssMiB.last} (max ${p.rssMiB.max})`,
						`${p.rssMiB.growthPct} %`,
						...(heap ? [heapCell(p.heapUsedMiB)] : []),
						`${p.fds.first} → ${p.fds.last} (max ${p.fds.max})`,
					]
				: [
						`pid ${p.pid}: restarted less than a warm-up before the end`,
						...columns.slice(2).map(() => '–'),
					];
		lines.push(`| ${name} | ${cells.join(' | ')} |`);
	}
	return lines.join('\n');
}
