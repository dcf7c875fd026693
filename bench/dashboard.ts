/**
 * Render Dashboard (example 5) over 10 000 and then 100 000 executions in its 24 h window, in real queue-mode n8n
 * (main + 2 workers): time from the HTTP request to the complete HTML page, and the memory of the workers.
 *
 * The executions: 12 real ones of a workflow whose outcome the request picks (4 successful, 4 failed in Stop and
 * Error, 4 running our Agent, which records usage in custom data), then cloned directly in n8n's Postgres database
 * (execution_entity, execution_data, execution_metadata rows copied as n8n wrote them, hand-written SQL below) across
 * 5 workflows, spread over the last 24 hours: to 10 000, measured, then 90 000 more, measured again. Running 100 000
 * real executions would take this machine well over an hour and measure nothing more: the dashboard reads them
 * through n8n's public API like any others. The clones are backdated, which no real execution is, so the shared
 * index is deleted before each size (an index only lists what started since its last refresh).
 *
 * Measured at each size, each as a separate example 5 variant:
 *  - first build: the first view with nothing stored, which lists every execution of the window and reads each once
 *    with its data to build the shared aggregates (once per Memory Store and n8n API key, not per process);
 *  - cold view: after both workers were restarted (new processes) and the view's and the index's cache expired: the
 *    view reads the stored aggregates of its window and what started since, not the executions;
 *  - one viewer, Cache Seconds 0: every view refreshes the index (lists what started since, re-reads pending ones);
 *  - one viewer, Cache Seconds 10 (the default): views within 10 s are served as stored;
 *  - ten concurrent viewers, Cache Seconds 0 and 10: 5 rounds of 10 simultaneous views, 2 s apart.
 * Targets, with the default options (Cache Seconds 10): cold view ≤ 2 s at 10 000 and ≤ 5 s at 100 000; one viewer
 * p95 ≤ 0.5 s; ten viewers p95 ≤ 2 s. BENCH_DASHBOARD_SIZES (default "10000,100000") changes the sizes.
 */
import { randomUUID } from 'node:crypto';
import { get } from 'node:http';

import { Pool } from 'pg';

import {
	activateExample,
	importExample,
	loadExample,
	type ExampleWorkflow,
} from '../stack/examples';
import { mixedOutcomeWorkflow } from '../stack/n8n/workflow-nodes';
import { deleteKeys, postgresFromEnv, redisFromEnv } from '../stack/services';
import { benchCluster, type BenchCluster } from './cluster';
import { rssBytes, summary } from './stats';

const SIZES = (process.env.BENCH_DASHBOARD_SIZES ?? '10000,100000').split(',').map(Number);
const WORKFLOWS = 5;

/** Samples the workers' resident memory every 100 ms until stopped; returns the peak per worker, MiB. */
function sampleWorkers(bench: BenchCluster) {
	const pids = bench.cluster.workers.map((w) => w.process.pid).filter((p): p is number => !!p);
	const before = pids.map(rssBytes);
	const peak = [...before];
	const timer = setInterval(
		() => pids.forEach((pid, i) => (peak[i] = Math.max(peak[i], rssBytes(pid)))),
		100,
	);
	const mib = (bytes: number) => Math.round(bytes / 1048576);
	return () => {
		clearInterval(timer); // idempotent: also called when the benchmark fails
		return { beforeMiB: before.map(mib), peakMiB: peak.map(mib) };
	};
}

/** 12 real executions of the first of WORKFLOWS workflows; returns the workflows and the executions' IDs. */
async function realExecutions(
	bench: BenchCluster,
): Promise<{ workflowIds: string[]; sources: number[] }> {
	const { client } = bench;
	const workflowIds: string[] = [];
	let path = '';
	for (let w = 0; w < WORKFLOWS; w++) {
		const p = `bench-dashboard-${randomUUID()}`;
		const { id } = await client.createWorkflow(
			mixedOutcomeWorkflow(`bench: dashboard flow ${w + 1}`, p, bench.credentials.openAgentsLlmApi),
		);
		workflowIds.push(id);
		if (w === 0) {
			await client.activateWorkflow(id, [p]);
			path = p;
		}
	}
	bench.model.latencyMs = 0;
	const kinds = [
		'ok',
		'fail',
		'agent',
		'ok',
		'agent',
		'fail',
		'ok',
		'agent',
		'fail',
		'ok',
		'agent',
		'fail',
	];
	for (const kind of kinds) await client.webhook(path, { kind, question: `a ${kind} run` });
	const real = await client.waitForExecutions(workflowIds[0], kinds.length);
	return { workflowIds, sources: real.map((e) => Number(e.id)) };
}

/**
 * `count` clones of the real executions in n8n's database: copy n of source s goes to workflow n % WORKFLOWS, started
 * at a spread time in the last 24 h. Each clone carries its source in deduplicationKey while its data and custom data
 * are copied, in the same statement.
 */
async function cloneExecutions(
	db: Pool,
	seed: { workflowIds: string[]; sources: number[] },
	count: number,
): Promise<void> {
	await db.query(
		`WITH copies AS (
			SELECT g AS n FROM generate_series(0, $2::int - 1) g
		), clones AS (
			INSERT INTO execution_entity
				(finished, mode, status, "workflowId", "startedAt", "stoppedAt", "createdAt", "storedAt", "deduplicationKey")
			SELECT e.finished, e.mode, e.status, ($3::text[])[1 + c.n % $4::int],
				now() - (c.n::float / $2::int) * interval '24 hours',
				now() - (c.n::float / $2::int) * interval '24 hours' + (e."stoppedAt" - e."startedAt"),
				now() - (c.n::float / $2::int) * interval '24 hours', e."storedAt",
				'bench-clone:' || e.id || ':' || c.n
			FROM copies c JOIN execution_entity e ON e.id = ($1::int[])[1 + c.n % array_length($1::int[], 1)]
			RETURNING id, split_part("deduplicationKey", ':', 2)::int AS source
		), data AS (
			INSERT INTO execution_data ("executionId", "workflowData", data)
			SELECT clones.id, d."workflowData", d.data FROM clones JOIN execution_data d ON d."executionId" = clones.source
			RETURNING 1
		), meta AS (
			INSERT INTO execution_metadata ("executionId", key, value)
			SELECT clones.id, m.key, m.value FROM clones JOIN execution_metadata m ON m."executionId" = clones.source
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM clones) AS clones, (SELECT count(*) FROM data) AS data`,
		[seed.sources, count, seed.workflowIds, WORKFLOWS],
	);
	await db.query(
		`UPDATE execution_entity SET "deduplicationKey" = NULL WHERE "deduplicationKey" LIKE 'bench-clone:%'`,
	);
}

/** Deletes the shared index and views (the job-analytics keys of the Memory Store credential); returns how many. */
const forgetIndex = (bench: BenchCluster) =>
	deleteKeys(redisFromEnv(), `${bench.redisPrefix}:*job-analytics*`);

/** Stops both workers and starts them again (new processes, nothing of the earlier views in them). */
async function restartWorkers(bench: BenchCluster): Promise<void> {
	const workers = [...bench.cluster.workers];
	await Promise.all(workers.map((w) => w.process.stop('SIGTERM', 15_000)));
	for (const w of workers) await bench.cluster.startWorker(Number(w.name.split('-')[1]));
}

/** Example 5 with `cacheSeconds`, at paths of its own; returns the dashboard URL. */
async function dashboardVariant(bench: BenchCluster, cacheSeconds: number): Promise<string> {
	const workflow: ExampleWorkflow = loadExample('05-agent-ops-dashboard.json', bench.credentials);
	workflow.name = `bench: dashboard, cache ${cacheSeconds} s`;
	const ops = `bench-ops-${randomUUID()}`;
	for (const node of workflow.nodes) {
		if (node.name === 'Dashboard') node.parameters.path = ops;
		if (node.name === 'Prometheus Scrape') node.parameters.path = `bench-metrics-${randomUUID()}`;
		if (node.webhookId) node.webhookId = randomUUID();
		if (node.type.endsWith('openAgentsJobMonitor'))
			Object.assign(node.parameters.options as object, {
				cacheSeconds,
				maxExecutions: 2 * Math.max(...SIZES),
				bullPrefix: bench.cluster.queuePrefix,
				redisPrefix: `${bench.cluster.queuePrefix}-n8n`,
			});
	}
	await activateExample(bench.client, await importExample(bench.client, workflow), workflow);
	return `${bench.client.url}/webhook/${ops}?range=24h`;
}

/** GET without a time limit (fetch gives up on headers after 300 s; a first build at 100 000 may take longer). */
function getText(
	url: string,
	headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
	return new Promise((resolve, reject) => {
		get(url, { headers }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (chunk: Buffer) => chunks.push(chunk));
			res.on('end', () =>
				resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
			);
			res.on('error', reject);
		}).on('error', reject);
	});
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function dashboard() {
	const bench = await benchCluster();
	const db = new Pool({ ...postgresFromEnv(), database: bench.cluster.database, max: 2 });
	let stopSampling: (() => unknown) | undefined;
	const authorization = `Basic ${Buffer.from(`${bench.dashboardLogin.user}:${bench.dashboardLogin.password}`).toString('base64')}`;
	/** One view: ms from request to the whole page, and the executions the page says it counted. */
	const view = async (url: string) => {
		const started = performance.now();
		const res = await getText(url, { authorization });
		const html = res.text;
		const ms = performance.now() - started;
		if (res.status !== 200 || !html.includes('data-kpi="executions"'))
			throw new Error(
				`Dashboard answered ${res.status} without its figures: ${/role="alert">(.*?)<\/section>/s.exec(html)?.[1] ?? html.slice(0, 300)}`,
			);
		const covered = /(\d[\d,]*) executions in /.exec(html)?.[1]?.replace(/,/g, '');
		return { ms, executions: Number(covered), bytes: html.length };
	};
	const sequential = async (url: string, n: number) => {
		const times: number[] = [];
		for (let i = 0; i < n; i++) times.push((await view(url)).ms);
		return times;
	};
	const tenViewersOf = async (url: string) => {
		const times: number[] = [];
		for (let round = 0; round < 5; round++) {
			const views = await Promise.all(Array.from({ length: 10 }, () => view(url)));
			times.push(...views.map((v) => v.ms));
			await sleep(2000); // viewers look, then reload
		}
		return times;
	};
	try {
		const seed = await realExecutions(bench);
		const noCache = await dashboardVariant(bench, 0);
		const cached = await dashboardVariant(bench, 10);
		const sizes: Record<string, unknown> = {};
		const targets: Record<string, { target: number; measured: number; met: boolean }> = {};
		let cloned = 0;
		for (const size of SIZES) {
			const started = performance.now();
			await cloneExecutions(db, seed, size - seed.sources.length - cloned);
			cloned = size - seed.sources.length;
			const seedMs = performance.now() - started;
			if (!(await forgetIndex(bench)) && size !== SIZES[0])
				throw new Error('No shared index was found to delete: the key pattern is stale');
			const firstBuild = await view(cached); // nothing stored: lists and reads every execution once
			await restartWorkers(bench);
			await sleep(11_000); // past Cache Seconds 10: the view and the index are due for a refresh
			const memory = sampleWorkers(bench);
			stopSampling = memory;
			const cold = await view(cached);
			const oneViewer = await sequential(noCache, 30);
			await view(cached); // starts this variant's cache window
			const oneViewerCached = await sequential(cached, 30);
			const tenViewers = await tenViewersOf(noCache);
			const tenViewersCached = await tenViewersOf(cached);
			const workers = memory();
			sizes[String(size)] = {
				executionsInWindow: cold.executions,
				seedMs: Math.round(seedMs),
				pageBytes: cold.bytes,
				firstBuildMs: Math.round(firstBuild.ms),
				coldViewMs: Math.round(cold.ms),
				oneViewerCacheOffMs: summary(oneViewer),
				oneViewerCache10sMs: summary(oneViewerCached),
				tenConcurrentViewersCacheOffMs: summary(tenViewers),
				tenConcurrentViewersCache10sMs: summary(tenViewersCached),
				workersRss: workers,
			};
			// The targets are judged with the default options (Cache Seconds 10); Cache Seconds 0 is the worst case.
			const judge = (name: string, target: number, measured: number) =>
				(targets[`${name}At${size}`] = { target, measured, met: measured <= target });
			judge('coldViewMs', size <= 10_000 ? 2000 : 5000, Math.round(cold.ms));
			judge('oneViewerP95Ms', 500, summary(oneViewerCached).p95);
			judge('tenViewersP95Ms', 2000, summary(tenViewersCached).p95);
		}
		return { sizes, targets };
	} finally {
		stopSampling?.();
		await db.end();
	}
}
