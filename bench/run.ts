/**
 * `npm run bench`: runs every benchmark and writes bench/results/latest.json (also printed).
 * Select some with BENCH_ONLY=name1,name2. Figures depend on the machine: the JSON records it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { llmCallOverhead } from './llm-call-overhead';
import { memoryOps } from './memory-ops';

const benchmarks: Record<string, () => Promise<unknown>> = {
	'llm-call-overhead': llmCallOverhead,
	'memory-ops': memoryOps,
};

async function main() {
	const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
	const results: Record<string, unknown> = {};
	for (const [name, run] of Object.entries(benchmarks)) {
		if (only && !only.includes(name)) continue;
		process.stderr.write(`bench: ${name}...\n`);
		results[name] = await run();
	}
	const report = {
		command: 'npm run bench',
		at: new Date().toISOString(),
		machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
		results,
	};
	const dir = join(__dirname, 'results');
	mkdirSync(dir, { recursive: true });
	writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
	console.log(JSON.stringify(report, null, 2));
}

void main();
