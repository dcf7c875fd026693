/**
 * `npm run bench`: runs every benchmark and writes bench/results/latest.json (also printed) and the report
 * (bench/results/REPORT.md with SVG charts, see report.ts); after queue-scaling, docs/SCALING.md and the README's
 * queue-scaling paragraph (scripts/scaling-doc.ts).
 * Select some with BENCH_ONLY=name1,name2: their results replace those in latest.json, the others are kept. A
 * benchmark that fails keeps its earlier figures, marked stale with the date and error of the failed run.
 * Figures depend on the machine: the JSON records it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { agent } from './agent';
import { chatCompletions } from './chat-completions';
import { stopBenchCluster } from './cluster';
import { dashboard } from './dashboard';
import { floors } from './floors';
import { install } from './install';
import { jobs } from './jobs';
import { knowledgeBase } from './knowledge-base';
import { knowledgeBaseScale } from './knowledge-base-scale';
import { knowledgeBaseVsN8n } from './knowledge-base-vs-n8n';
import { llmCallOverhead } from './llm-call-overhead';
import { longTermMemory } from './long-term-memory';
import { memoryOps } from './memory-ops';
import { memoryVsN8n } from './memory-vs-n8n';
import { planner } from './planner';
import { providerLimits, rateLimiterOverhead } from './provider-limits';
import { queueScaling } from './queue-scaling';
import { tracing } from './tracing';
import { webhookAnswers } from './webhook-answers';
import { mergeResults, writeReport, type Entry } from './report';
import { writeScalingDocs } from '../scripts/scaling-doc';

/** In report order. The n8n ones share one queue-mode cluster (bench/cluster.ts), started by the first of them. */
const benchmarks: Record<string, () => Promise<unknown>> = {
	'llm-call-overhead': llmCallOverhead,
	'rate-limiter-overhead': rateLimiterOverhead,
	'memory-ops': memoryOps,
	'long-term-memory': longTermMemory,
	'knowledge-base': knowledgeBase,
	'knowledge-base-scale': knowledgeBaseScale,
	'knowledge-base-vs-n8n': knowledgeBaseVsN8n,
	agent,
	'chat-completions': chatCompletions,
	'memory-vs-n8n': memoryVsN8n,
	planner,
	'queue-scaling': queueScaling,
	'provider-limits': providerLimits,
	tracing,
	jobs,
	dashboard,
	floors,
	'webhook-answers': webhookAnswers,
	install,
};

async function main() {
	const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
	const machine = {
		cpus: cpus().length,
		cpu: cpus()[0]?.model,
		memoryGiB: Math.round(totalmem() / 2 ** 30),
		node: process.version,
	};
	const ran: Record<string, Entry> = {};
	const failed: Record<string, { failedAt: string; error: string }> = {};
	try {
		for (const [name, run] of Object.entries(benchmarks)) {
			if (only && !only.includes(name)) continue;
			process.stderr.write(`bench: ${name}...\n`);
			const started = performance.now();
			try {
				const result = (await run()) as Record<string, unknown>;
				ran[name] = { at: new Date().toISOString(), machine, result };
				process.stderr.write(
					`bench: ${name} done in ${Math.round((performance.now() - started) / 1000)} s\n`,
				);
			} catch (error) {
				// The others still run; the failed one keeps its earlier figures, marked stale, and the command exits non-zero.
				process.stderr.write(`bench: ${name} FAILED: ${(error as Error).stack ?? String(error)}\n`);
				failed[name] = { failedAt: new Date().toISOString(), error: (error as Error).message };
				process.exitCode = 1;
			}
		}
	} finally {
		await stopBenchCluster();
	}
	const dir = join(__dirname, 'results');
	const file = join(dir, 'latest.json');
	const earlier = existsSync(file)
		? ((JSON.parse(readFileSync(file, 'utf8')) as { results?: Record<string, Entry> }).results ??
			{})
		: {};
	const report = { command: 'npm run bench', results: mergeResults(earlier, ran, failed) };
	mkdirSync(dir, { recursive: true });
	writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
	writeReport(dir);
	// The capacity model and the README's paragraph restate this benchmark's figures.
	if (ran['queue-scaling']) writeScalingDocs(report.results);
	console.log(JSON.stringify(report, null, 2));
}

void main();
