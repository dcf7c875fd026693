/**
 * `npm run soak` (not part of CI): the examples under a steady mixed load for SOAK_MINUTES on a queue-mode stack
 * while workers are killed, the memory store's Redis is killed and the model stalls (see options.ts, stack.ts,
 * load.ts, faults.ts). Every execution the load started must end succeeded or failed with a code (0 lost), and no
 * process may grow by more than 10 % after the warm-up. Writes bench/results/soak.json and the README's soak table
 * from it; exits 1 when an execution was lost. SOAK_MACHINE_NOTE describes the machine in both (e.g. that it was
 * shared). SOAK_REPORT_ONLY=1 only measures the processes again from the samples in the JSON there is (with
 * SOAK_WARMUP_MINUTES when set) and writes the JSON and the README's table again.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { stopOnExit, type Stopper } from '../../stack/lifecycle';
import { REPO_ROOT } from '../../stack/n8n/community-package';
import { startApprovals } from './approvals';
import { runFaults } from './faults';
import { flowRequests, type FlowName } from './flows';
import { startLoad } from './load';
import { phaseAt, soakOptions } from './options';
import { flowOutcomes, lastExecutionId } from './outcomes';
import { remeasured, soakTable, summarize, type SoakResult } from './report';
import { startSampler, type SampledProcess } from './sampler';
import { startSoakStack, type SoakStack } from './stack';

const say = (line: string) => process.stderr.write(`[soak] ${line}\n`);
const RESULT_FILE = join(REPO_ROOT, 'bench', 'results', 'soak.json');
const DRAIN_TIMEOUT_MS = 10 * 60_000;

/** Waits until none of the soak's workflows has an execution that has not ended (approvals are still decided). */
async function drain(stack: SoakStack): Promise<void> {
	const deadline = Date.now() + DRAIN_TIMEOUT_MS;
	for (;;) {
		let open = 0;
		for (const { workflowId } of Object.values(stack.flows))
			for (const status of ['new', 'running', 'waiting'])
				open += (await stack.cluster.client.executions({ workflowId, status, limit: 250 })).length;
		if (!open || Date.now() > deadline) return;
		say(`draining: ${open} executions not ended yet`);
		await new Promise((resolve) => setTimeout(resolve, 5_000));
	}
}

/** Replaces the README's soak table (between its markers) with `table`. */
function writeReadmeTable(table: string): void {
	const file = join(REPO_ROOT, 'README.md');
	const readme = readFileSync(file, 'utf8');
	const start = readme.indexOf('<!-- soak-table:');
	const end = readme.indexOf('<!-- /soak-table -->');
	if (start < 0 || end < start) throw new Error('README.md has no soak-table block');
	const head = readme.slice(0, readme.indexOf('\n', start) + 1);
	writeFileSync(file, `${head}${table}\n${readme.slice(end)}`);
}

async function main() {
	const options = soakOptions();
	const durationMs = options.minutes * 60_000;
	const stoppers: Stopper[] = [];
	const shutdown = stopOnExit(stoppers, { say });
	try {
		say(
			'starting the stack (n8n main + 2 workers, Postgres, Redis, a private Redis for memory, Chroma, the model)...',
		);
		const stack = await startSoakStack(options, stoppers, say);
		const requests = flowRequests(stack);
		const filled = await requests.ingest(0);
		if (filled.result !== 'ok')
			throw new Error(`the first ingest failed: ${JSON.stringify(filled)}`);

		say(
			`load: ${options.ratePerSecond} requests/s for ${options.minutes} min; faults in the middle three fifths`,
		);
		const lastIdBefore = await lastExecutionId(stack.cluster.client);
		const started = performance.now();
		const loadStartedAt = Date.now();
		const processes = (): Record<string, SampledProcess> => ({
			'n8n main': { pid: stack.cluster.main.pid, metricsUrl: `${stack.cluster.url}/metrics` },
			...Object.fromEntries(
				stack.cluster.workers.map((w) => [
					`n8n ${w.name}`,
					{ pid: w.process.pid, metricsUrl: `http://127.0.0.1:${w.healthPort}/metrics` },
				]),
			),
			chroma: { pid: stack.chroma.process.pid },
			'memory redis-server': { pid: stack.memoryRedis.pid },
			'load generator + model server': { pid: process.pid },
		});
		const sampler = startSampler(processes, { started, everyMs: options.sampleSeconds * 1000 });
		await sampler.sample();
		const approvals = startApprovals(stack.cluster.client, stack.flows.approval.workflowId);
		const phase = (ms: number) => phaseAt(ms, options.minutes);
		const load = startLoad(requests, { ...options, durationMs, phaseAt: phase });
		const faults = await runFaults(stack, {
			started,
			fromMs: durationMs / 5,
			toMs: (4 * durationMs) / 5,
			rounds: options.faultRounds,
		});
		for (const f of faults)
			say(
				`fault at ${Math.round(f.atMs / 1000)} s: ${f.kind}, ${f.target}; whole again after ${f.recoveredAfterMs} ms`,
			);
		await load.done;
		say(`load done: ${load.records.length} requests, ${load.skipped} skipped; draining...`);
		await drain(stack);
		await approvals.stop();
		await sampler.sample();
		sampler.stop();

		const workflowIds = Object.fromEntries(
			Object.entries(stack.flows).map(([flow, f]) => [flow, f.workflowId]),
		) as Record<FlowName, string>;
		const result = summarize({
			at: new Date().toISOString(),
			command: `${options.flows ? `SOAK_FLOWS=${options.flows.join(',')} ` : ''}${options.n8nHeapMiB ? `SOAK_N8N_HEAP_MIB=${options.n8nHeapMiB} ` : ''}SOAK_MINUTES=${options.minutes} SOAK_RATE=${options.ratePerSecond} npm run soak`,
			machine: {
				cpus: cpus().length,
				cpu: cpus()[0]?.model ?? 'unknown CPU',
				memoryGiB: Math.round(totalmem() / 2 ** 30),
				node: process.version,
				note: process.env.SOAK_MACHINE_NOTE ?? 'not shared with other work',
			},
			settings: {
				minutes: options.minutes,
				ratePerSecond: options.ratePerSecond,
				maxInFlight: options.maxInFlight,
				faultRounds: options.faultRounds,
				warmUpMinutes: options.warmUpMinutes,
				...(options.n8nHeapMiB ? { n8nHeapMiB: options.n8nHeapMiB } : {}),
			},
			phaseAt: phase,
			records: load.records,
			skipped: load.skipped,
			faults,
			outcomes: await flowOutcomes(stack.cluster.client, workflowIds, load.records, {
				loadStartedAt,
				lastIdBefore,
			}),
			samples: sampler.samples,
			approvals: approvals.log,
		});
		mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
		writeFileSync(RESULT_FILE, `${JSON.stringify(result, null, '\t')}\n`);
		const table = soakTable(result);
		writeReadmeTable(table);
		say(`wrote ${RESULT_FILE} and the README's soak table:\n${table}`);
		if (result.executions.lostDetails.length)
			say(`lost:\n  ${result.executions.lostDetails.join('\n  ')}`);
		await shutdown(result.executions.lost ? 1 : 0);
	} catch (error) {
		say(`failed: ${(error as Error).stack ?? (error as Error).message}`);
		await shutdown(1);
	}
}

/** SOAK_REPORT_ONLY: the figures measured again from the samples there are (SOAK_WARMUP_MINUTES may change). */
function reportOnly(): void {
	const stored = JSON.parse(readFileSync(RESULT_FILE, 'utf8')) as SoakResult;
	const result = remeasured(
		stored,
		process.env.SOAK_WARMUP_MINUTES ? soakOptions().warmUpMinutes : stored.settings.warmUpMinutes,
	);
	writeFileSync(RESULT_FILE, `${JSON.stringify(result, null, '\t')}\n`);
	writeReadmeTable(soakTable(result));
}

if (process.env.SOAK_REPORT_ONLY === '1') reportOnly();
else void main();
