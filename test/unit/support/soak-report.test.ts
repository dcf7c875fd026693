/**
 * bench/soak/report.ts: outcomes summed over flows, latency by phase, memory growth of the last pid after its own
 * warm-up.
 */
import { emptyOutcome, type FlowOutcome } from '../../../bench/soak/outcomes';
import { processFigures, remeasured, soakTable, summarize } from '../../../bench/soak/report';
import { heapUsedFrom } from '../../../bench/soak/sampler';

const outcome = (o: Partial<FlowOutcome>): FlowOutcome => ({ ...emptyOutcome(), ...o });

const phaseAt = (ms: number) => (ms < 1000 ? 'before' : ms < 4000 ? 'during' : 'after');

const result = summarize({
	at: '2026-01-01T00:00:00.000Z',
	command: 'npm run soak',
	machine: { cpus: 2, cpu: 'Test CPU', memoryGiB: 24, node: 'v24.0.0', note: 'test' },
	settings: { minutes: 5, ratePerSecond: 1, maxInFlight: 10, faultRounds: 1, warmUpMinutes: 1 },
	phaseAt,
	records: [
		{ flow: 'chat', phase: 'before', sentAtMs: 0, ms: 100, result: 'ok' },
		{ flow: 'chat', phase: 'during', sentAtMs: 2000, ms: 900, result: 'ok' },
		{ flow: 'chat', phase: 'during', sentAtMs: 2500, ms: 50, result: 'error', code: 'HTTP 500' },
	],
	skipped: 2,
	faults: [{ kind: 'worker killed', target: 'worker-1', atMs: 2000, recoveredAfterMs: 10 }],
	outcomes: {
		chat: outcome({ started: 3, succeeded: 2, failed: 1, codes: { store_unavailable: 1 } }),
		approval: outcome({
			started: 2,
			succeeded: 1,
			lost: 1,
			lostDetails: ['execution 7: still waiting'],
			durationsMs: [{ startedAt: 4500, ms: 3000 }],
		}),
	} as Record<string, FlowOutcome> as never,
	samples: [
		{ atMs: 0, name: 'worker', pid: 1, rssMiB: 500, fds: 10 },
		{ atMs: 0, name: 'main', pid: 9, rssMiB: 50, fds: 5 },
		{ atMs: 0, name: 'redis', pid: 5, rssMiB: 10, fds: 3 },
		{ atMs: 60_000, name: 'main', pid: 9, rssMiB: 60, fds: 5 },
		{ atMs: 70_000, name: 'worker', pid: 2, rssMiB: 100, fds: 20 },
		{ atMs: 120_000, name: 'main', pid: 9, rssMiB: 63, fds: 6 },
		{ atMs: 130_000, name: 'worker', pid: 2, rssMiB: 110, fds: 22 },
		{ atMs: 150_000, name: 'redis', pid: 6, rssMiB: 11, fds: 3 },
		{ atMs: 190_000, name: 'worker', pid: 2, rssMiB: 121, fds: 22 },
		{ atMs: 190_000, name: 'redis', pid: 6, rssMiB: 12, fds: 3 },
	],
	approvals: { decided: 1, answers: { 200: 1 }, errors: [] },
});

it('sums the flows and keeps why each lost execution counts as lost', () => {
	expect(result.executions).toMatchObject({ started: 5, succeeded: 3, failed: 1, lost: 1 });
	expect(result.executions.codes).toEqual({ store_unavailable: 1 });
	expect(result.executions.lostDetails).toEqual(['approval: execution 7: still waiting']);
	expect(result.requests).toMatchObject({ sent: 3, skipped: 2, byResult: { ok: 2, error: 1 } });
});

it('times ok requests by the phase they were sent in, approvals by their execution', () => {
	expect(result.latencyMs.chat.before).toEqual({ n: 1, p50: 100, p95: 100 });
	expect(result.latencyMs.chat.during).toEqual({ n: 1, p50: 900, p95: 900 });
	expect(result.latencyMs.approval.after).toEqual({ n: 1, p50: 3000, p95: 3000 });
});

it("measures a restarted process's last pid from its own warm-up: a warm-up after its first sample", () => {
	expect(result.processes.worker).toMatchObject({
		pid: 2,
		fromMs: 130_000,
		rssMiB: { first: 110, last: 121, growthPct: 10 },
		fds: { first: 22, last: 22 },
	});
	expect(result.processes.main).toMatchObject({
		pid: 9,
		fromMs: 60_000,
		rssMiB: { first: 60, last: 63, growthPct: 5 },
	});
	expect(result.maxRssGrowthPct).toBe(10);
	expect(soakTable(result)).toContain(
		'| **all** | 5 | 3 | 1 (`store_unavailable` 1) | **1** | | | |',
	);
	expect(soakTable(result)).toContain('| worker | pid 2, 2–3 | 110 → 121 (max 121) | 10 % |');
});

it('does not measure a pid restarted less than a warm-up before the end, nor count it in the largest growth', () => {
	expect(result.processes.redis).toMatchObject({ pid: 6, fromMs: null, rssMiB: null });
	expect(soakTable(result)).toContain(
		'| redis | pid 6: restarted less than a warm-up before the end | – | – | – |',
	);
});

it('measures a stored result again with another warm-up', () => {
	const again = remeasured(result, 0);
	expect(again.settings.warmUpMinutes).toBe(0);
	expect(again.processes.worker).toMatchObject({
		fromMs: 70_000,
		rssMiB: { first: 100, last: 121 },
	});
	expect(again.processes.redis).toMatchObject({ fromMs: 150_000, rssMiB: { first: 11, last: 12 } });
	expect(again.maxRssGrowthPct).toBe(26);
	expect(again.executions).toEqual(result.executions);
});

it('takes each end of a long series as the median of three samples, so one spike moves neither', () => {
	const rss = [200, 290, 210, 205, 220, 215, 300, 212];
	const { main } = processFigures(
		rss.map((rssMiB, i) => ({ atMs: i * 60_000, name: 'main', pid: 1, rssMiB, fds: 5 })),
		0,
	);
	expect(main.rssMiB).toEqual({ first: 210, last: 215, max: 300, growthPct: 2.4 });
});

it("reports an n8n process's V8 heap in use beside its RSS, when every measured sample has it", () => {
	const samples = [100, 150, 150].map((rssMiB, i) => ({
		atMs: i * 60_000,
		name: 'worker',
		pid: 1,
		rssMiB,
		fds: 5,
		heapUsedMiB: [80, 90, 82][i],
	}));
	const figures = processFigures(samples, 0);
	expect(figures.worker.heapUsedMiB).toEqual({ first: 80, last: 82, max: 90, growthPct: 2.5 });
	const { chroma } = processFigures(
		samples.map(({ heapUsedMiB: _heap, ...s }) => ({ ...s, name: 'chroma' })),
		0,
	);
	expect(chroma.heapUsedMiB).toBeNull();
});

it('reads the heap in use from a Prometheus page, whatever the metric prefix', () => {
	const page = [
		'# HELP n8n_nodejs_heap_size_total_bytes Process heap size from Node.js in bytes.',
		'n8n_nodejs_heap_size_total_bytes 209715200',
		'n8n_nodejs_heap_size_used_bytes 104857600',
	].join('\n');
	expect(heapUsedFrom(page)).toBe(100);
	expect(heapUsedFrom('nodejs_heap_size_used_bytes 1048576')).toBe(1);
	expect(heapUsedFrom('n8n_nodejs_heap_size_total_bytes 1')).toBeUndefined();
});
