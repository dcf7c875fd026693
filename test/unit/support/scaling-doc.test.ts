/**
 * docs/SCALING.md is what scripts/scaling-doc.ts makes of the committed bench/results/latest.json, and the capacity
 * model (bench/capacity.ts) takes the lowest bound.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { bounds, project, type FlowCost } from '../../../bench/capacity';
import type { Entry } from '../../../bench/report';
import { readmeParagraph, scalingDoc } from '../../../scripts/scaling-doc';

const ROOT = join(__dirname, '..', '..', '..');

const { results } = JSON.parse(
	readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'),
) as { results: Record<string, Entry> };

it('docs/SCALING.md is up to date with bench/results/latest.json (run npm run docs:scaling)', () => {
	expect(readFileSync(join(ROOT, 'docs', 'SCALING.md'), 'utf8')).toBe(scalingDoc(results));
});

it("the README's queue-scaling paragraph gives the same run and points to docs/SCALING.md", () => {
	const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
	const start = readme.indexOf('<!-- queue-scaling:');
	const end = readme.indexOf('<!-- /queue-scaling -->');
	expect(start).toBeGreaterThan(-1);
	expect(readme.slice(readme.indexOf('\n', start) + 1, end).trim()).toBe(readmeParagraph(results));
	expect(readmeParagraph(results)).toContain('[docs/SCALING.md](docs/SCALING.md)');
});

const cost: FlowCost = {
	workerMs: 100,
	mainMs: 20,
	redisMs: 5,
	postgresMs: 40,
	chromaMs: 0,
	modelRequests: 3,
	latencyMs: 1000,
};
const assumptions = { workerConcurrency: 10, serverCores: 4, providerRequestsPerMinute: 6000 };

it('bounds each part by its cores: workers one core each, main and Redis one, Postgres and Chroma their cores', () => {
	expect(bounds(cost, 3, assumptions)).toEqual({
		'workers (one core each)': 30,
		'worker slots (concurrency × workers ÷ latency)': 30,
		'n8n main (one core)': 50,
		'Redis (one core)': 200,
		'Postgres (4 cores)': 100,
		'Chroma (4 cores)': Infinity,
		'provider limit (6,000 requests/min)': 100 / 3,
	});
});

it('projects the lowest bound, names it, and counts the cores the stack uses at that rate', () => {
	const [one, eight] = project(cost, [1, 8], assumptions);
	expect(one).toMatchObject({
		workers: 1,
		executionsPerSecond: 10,
		boundBy: 'workers (one core each)',
	});
	expect(one.coresUsed).toBeCloseTo(1.65);
	expect(eight).toMatchObject({ executionsPerSecond: 100 / 3 });
	expect(eight.boundBy).toMatch(/^provider limit/);
	expect(project({ ...cost, mainMs: 50 }, [8], assumptions)[0]).toMatchObject({
		executionsPerSecond: 20,
		boundBy: 'n8n main (one core)',
	});
});
