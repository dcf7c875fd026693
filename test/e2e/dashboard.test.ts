/**
 * Example 5 in real queue-mode n8n (main + 2 workers): the agent-ops dashboard opened in headless Chromium behind its
 * Basic Auth login, after a mix of successful, failed and Agent executions of one workflow. The KPI cards show what
 * the test computes from n8n's API (counts, success rate, nearest-rank p50/p95, model calls, tokens, cost from the
 * executions' custom data); the four charts have drawn; a custom range before the executions empties the numbers; the
 * CSV export downloads and parses to the rows of the workflow table. The Prometheus scrape parses with a Prometheus
 * text parser and counts what n8n holds. An unknown workflow, an empty window and an unreachable queue Redis each
 * show their reason in place of the affected panel while the rest renders.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser } from 'playwright-core';

import { formatCost, formatDuration } from '../../lib/jobs';
import { percentile } from '../../lib/stats';
import { CHROMIUM_PATH } from '../../stack/browser';
import {
	activateExample,
	importExample,
	loadExample,
	type CredentialRefs,
	type ExampleWorkflow,
} from '../../stack/examples';
import { OfflineModelServer, offlineModelConfig } from '../../stack/model-server';
import { clusterFromEnv } from '../../stack/n8n/cluster';
import { REPO_ROOT } from '../../stack/n8n/community-package';
import type { Execution } from '../../stack/n8n/client';
import { mixedOutcomeWorkflow, webhookNode } from '../../stack/n8n/workflow-nodes';
import { deleteKeys, redisFromEnv } from '../../stack/services';
import { parsePrometheusText } from '../support/prometheus-parser';

const { client, info } = clusterFromEnv();
const model = new OfflineModelServer();
const prefix = `openagents-e2e-dashboard-${randomUUID()}`;
const login = { user: 'ops', password: randomUUID() };
const authorization = `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}`;
const SCREENSHOTS = join(REPO_ROOT, 'docs', 'images');
let browser: Browser;
let mixed: { id: string; path: string };
let executions: Execution[];
let paths: { ops: string; metrics: string; opsRedisDown: string; stats: string };

const uid = () => randomUUID();

/** Example 5 with its webhooks moved to paths of this test and the given Memory Store credential. */
async function dashboardExample(credentials: CredentialRefs, label: string) {
	const workflow: ExampleWorkflow = loadExample('05-agent-ops-dashboard.json', credentials);
	workflow.name = `e2e dashboard: ${label} ${uid()}`;
	const ops = `e2e-ops-${uid()}`;
	const metrics = `e2e-metrics-${uid()}`;
	for (const node of workflow.nodes) {
		if (node.name === 'Dashboard') node.parameters.path = ops;
		if (node.name === 'Prometheus Scrape') node.parameters.path = metrics;
		if (node.webhookId) node.webhookId = uid();
		// This cluster's queue and pub/sub prefixes (QUEUE_BULL_PREFIX, N8N_REDIS_KEY_PREFIX).
		if (node.type.endsWith('openAgentsJobMonitor'))
			Object.assign(node.parameters.options as object, {
				bullPrefix: info.queuePrefix,
				redisPrefix: `${info.queuePrefix}-n8n`,
			});
	}
	await activateExample(client, await importExample(client, workflow), workflow);
	return { ops, metrics };
}

beforeAll(async () => {
	await model.start();
	const memory = (port: number) => ({
		backend: 'redis',
		host: '127.0.0.1',
		redisPort: port,
		redisDatabase: 0,
		prefix,
	});
	const [api, redis, redisDown, basic, llm] = await Promise.all([
		client.createCredential('e2e dashboard n8n API', 'openAgentsN8nApi', {
			baseUrl: `${client.url}/api/v1`,
			apiKey: client.connection.apiKey,
		}),
		client.createCredential('e2e dashboard redis', 'openAgentsMemoryStore', memory(6379)),
		client.createCredential('e2e dashboard redis down', 'openAgentsMemoryStore', memory(1)),
		client.createCredential('e2e dashboard login', 'httpBasicAuth', login),
		client.createCredential('e2e dashboard model', 'openAgentsLlmApi', offlineModelConfig(model)),
	]);
	const refs = { openAgentsN8nApi: api, httpBasicAuth: basic };
	const [main, down] = await Promise.all([
		dashboardExample({ ...refs, openAgentsMemoryStore: redis }, 'live'),
		dashboardExample({ ...refs, openAgentsMemoryStore: redisDown }, 'redis down'),
	]);
	const statsPath = `e2e-dashboard-stats-${uid()}`;
	const statsFlow = await client.createWorkflow({
		name: `e2e dashboard: stats ${statsPath}`,
		nodes: [
			webhookNode(statsPath),
			{
				id: uid(),
				name: 'Job Monitor',
				type: 'n8n-nodes-openagents.openAgentsJobMonitor',
				typeVersion: 1.1,
				position: [220, 0],
				parameters: {
					resource: 'metric',
					operation: 'stats',
					workflowId: { __rl: true, mode: 'id', value: '={{ $json.body.workflowId }}' },
					windowMinutes: 60,
					includeUsage: '={{ $json.body.includeUsage }}',
					bucketMinutes: '={{ $json.body.bucketMinutes }}',
				},
				credentials: { openAgentsN8nApi: api },
			},
		],
		connections: {
			Webhook: { main: [[{ node: 'Job Monitor', type: 'main', index: 0 }]] },
		},
	});
	await client.activateWorkflow(statsFlow.id, [statsPath]);
	paths = { ops: main.ops, metrics: main.metrics, opsRedisDown: down.ops, stats: statsPath };

	const path = `e2e-dashboard-mixed-${uid()}`;
	const { id } = await client.createWorkflow(
		mixedOutcomeWorkflow(`e2e dashboard: mixed ${path}`, path, llm),
	);
	await client.activateWorkflow(id, [path]);
	mixed = { id, path };
	const kinds = ['ok', 'ok', 'ok', 'fail', 'agent', 'fail', 'agent', 'ok'];
	for (const kind of kinds)
		await client.webhook(path, { kind, question: `Question for a ${kind} run` });
	executions = await Promise.all(
		(await client.waitForExecutions(id, kinds.length)).map((e) => client.execution(e.id, true)),
	);
	browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
}, 180_000);

afterAll(async () => {
	await Promise.all([browser?.close(), model.stop(), deleteKeys(redisFromEnv(), `${prefix}:*`)]);
});

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const custom = (e: Execution, key: string) => Number(e.customData?.[key] ?? 0);

it('shows the KPIs n8n holds, draws its charts, follows the range filter and exports the shown rows', async () => {
	// Expected figures, from n8n's API.
	const ended = executions.filter((e) => ['success', 'error', 'crashed'].includes(e.status));
	const durations = ended.map((e) => Date.parse(e.stoppedAt!) - Date.parse(e.startedAt));
	const success = executions.filter((e) => e.status === 'success').length;
	expect(success).toBe(6);
	expect(executions.filter((e) => e.status === 'error')).toHaveLength(2);
	const expected = {
		executions: String(executions.length),
		successRate: `${((success / ended.length) * 100).toFixed(1)} %`,
		durationP50: formatDuration(percentile(durations, 50)),
		durationP95: formatDuration(percentile(durations, 95)),
		modelCalls: String(sum(executions.map((e) => custom(e, 'openagents_model_calls')))),
		totalTokens: new Intl.NumberFormat('en').format(
			sum(executions.map((e) => custom(e, 'openagents_total_tokens'))),
		),
		cost: formatCost(sum(executions.map((e) => custom(e, 'openagents_cost'))), 'USD'),
	};
	expect(Number(expected.modelCalls)).toBe(2); // two Agent runs, one model call each

	const context = await browser.newContext({
		httpCredentials: { username: login.user, password: login.password },
		viewport: { width: 1280, height: 900 },
	});
	const page = await context.newPage();
	const errors: string[] = [];
	page.on('pageerror', (error) => errors.push(error.message));
	// The page loads nothing from anywhere but n8n (Chart.js is inlined).
	const elsewhere: string[] = [];
	page.on('request', (request) => {
		if (!request.url().startsWith(client.url) && !/^(data|blob):/.test(request.url()))
			elsewhere.push(request.url());
	});
	await page.goto(`${client.url}/webhook/${paths.ops}?range=1h&workflow=${mixed.id}`);
	const kpis = async () =>
		Object.fromEntries(
			await page
				.locator('[data-kpi]')
				.evaluateAll((cards) =>
					cards.map((c) => [
						c.getAttribute('data-kpi'),
						c.querySelector('.value')?.textContent?.trim(),
					]),
				),
		);
	expect(await kpis()).toEqual(expected);
	expect(await page.title()).toBe('Agent operations');
	// A reload within Cache Seconds is served from the shared index without asking n8n.
	await page.reload();
	expect(await page.locator('[data-coverage]').textContent()).toMatch(/, (cache|shared)$/);

	// Every chart drew: Chart.js holds data for it and its canvas has painted pixels.
	const charts = (await page.evaluate(`
		['chart-status', 'chart-duration', 'chart-tokens', 'chart-cost'].map((id) => {
			const canvas = document.getElementById(id);
			const chart = window.Chart.getChart(canvas);
			const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
			let painted = 0;
			for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
			return { id, datasets: chart ? chart.data.datasets.length : 0, painted };
		})
	`)) as Array<{ id: string; datasets: number; painted: number }>;
	for (const chart of charts) {
		expect(chart.datasets).toBeGreaterThan(0);
		expect(chart.painted).toBeGreaterThan(500);
	}
	// The failures table names the failing node and links to each execution in the editor.
	const failures = page.locator('[data-panel="failures"] tbody tr');
	await expect(failures.count()).resolves.toBe(1);
	expect(await failures.first().textContent()).toContain('Stop and Error');
	const failedIds = executions.filter((e) => e.status === 'error').map((e) => e.id);
	const links = await failures
		.first()
		.locator('a[data-execution]')
		.evaluateAll((as) => as.map((a) => a.getAttribute('href')));
	expect(links.sort()).toEqual(
		failedIds.map((id) => `${client.url}/workflow/${mixed.id}/executions/${id}`).sort(),
	);
	// Queue and workers of the queue-mode cluster (read with this cluster's Queue Prefix: the page's own execution is
	// an active job while it renders), and both workers answer.
	await expect(page.locator('[data-panel="queue"][role="alert"]').count()).resolves.toBe(0);
	expect(
		Number(await page.locator('[data-queue="active"] .value').textContent()),
	).toBeGreaterThanOrEqual(1);
	await expect(page.locator('[data-worker]').count()).resolves.toBeGreaterThanOrEqual(2);

	mkdirSync(SCREENSHOTS, { recursive: true });
	if (process.env.OPENAGENTS_SCREENSHOTS === '1')
		await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });

	// CSV export: the download parses to the rows the workflow table shows.
	const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
	const csv = readFileSync((await download.path())!, 'utf8')
		.trim()
		.split('\n');
	expect(csv[0]).toBe(
		'workflow,workflowId,executions,success,failed,durationP95Ms,modelCalls,totalTokens,cost',
	);
	const shown = await page
		.locator('#workflow-table tbody tr')
		.evaluateAll((rows) =>
			rows.map((r) => [
				r.getAttribute('data-workflow-id'),
				...[...r.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent),
			]),
		);
	const exported = csv.slice(1).map((line) => {
		const cells = line.split(',');
		return [cells[1], cells[2], cells[3], cells[4]];
	});
	expect(exported).toEqual(shown);
	expect(exported).toEqual([[mixed.id, '8', '6', '2']]);
	// JSON export: every figure shown.
	const [jsonDownload] = await Promise.all([
		page.waitForEvent('download'),
		page.click('#export-json'),
	]);
	const exportedJson = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8'));
	expect(exportedJson.analytics.stats.total).toBe(8);
	expect(exportedJson.analytics.usage.modelCalls).toBe(2);
	expect(exportedJson.workflows).toHaveLength(1);

	// A custom range that ends before these executions started: the numbers change to none.
	await page.selectOption('#range', 'custom');
	const before = new Date(Date.parse(executions.at(-1)!.startedAt) - 2 * 3600_000);
	await page.fill('input[name="from"]', before.toISOString().slice(0, 16));
	await page.fill(
		'input[name="to"]',
		new Date(before.getTime() + 3600_000).toISOString().slice(0, 16),
	);
	await Promise.all([page.waitForLoadState('load'), page.click('#filters button[type="submit"]')]);
	await page.waitForURL(/range=custom/);
	expect((await kpis()).executions).toBe('0');
	await expect(page.locator('[data-panel="empty"]').count()).resolves.toBe(1);

	// Phone width: the page stays within the screen.
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${client.url}/webhook/${paths.ops}?range=1h&workflow=${mixed.id}`);
	const overflowing = (await page.evaluate(`
		[...document.querySelectorAll('body *')]
			.filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
			.filter((e) => !e.closest('.panel')) // tables scroll inside their panel
			.map((e) => e.tagName + '.' + e.className)
	`)) as string[];
	expect(overflowing).toEqual([]);
	expect(errors).toEqual([]);
	expect(elsewhere).toEqual([]);
	await context.close();

	// Dark mode follows the browser's setting.
	const background = async (colorScheme: 'light' | 'dark') => {
		const themed = await browser.newContext({
			httpCredentials: { username: login.user, password: login.password },
			colorScheme,
		});
		const p = await themed.newPage();
		await p.goto(`${client.url}/webhook/${paths.ops}?range=1h&workflow=${mixed.id}`);
		const color = (await p.evaluate('getComputedStyle(document.body).backgroundColor')) as string;
		await themed.close();
		const [r, g, b] = color.match(/\d+/g)!.map(Number);
		return (r + g + b) / 3;
	};
	expect(await background('dark')).toBeLessThan(80);
	expect(await background('light')).toBeGreaterThan(200);
}, 180_000);

it('serves Prometheus metrics that a parser reads back as the executions n8n holds', async () => {
	expect((await fetch(`${client.url}/webhook/${paths.metrics}`)).status).toBe(401);
	const res = await fetch(`${client.url}/webhook/${paths.metrics}`, { headers: { authorization } });
	expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
	const families = new Map(parsePrometheusText(await res.text()).map((f) => [f.name, f]));
	const value = (name: string, labels: Record<string, string>) =>
		sum(
			(families.get(name)?.metrics ?? [])
				.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
				.map((m) => Number(m.value)),
		);
	const mine = { workflow_id: mixed.id };
	expect(value('openagents_executions_total', { ...mine, status: 'success' })).toBe(6);
	expect(value('openagents_executions_total', { ...mine, status: 'error' })).toBe(2);
	expect(value('openagents_model_calls_total', mine)).toBe(2);
	expect(
		value('openagents_tokens_total', { ...mine, type: 'prompt' }) +
			value('openagents_tokens_total', { ...mine, type: 'completion' }),
	).toBe(sum(executions.map((e) => custom(e, 'openagents_total_tokens'))));
	expect(families.get('openagents_execution_duration_seconds')?.type).toBe('HISTOGRAM');
	expect(value('openagents_workers', {})).toBeGreaterThanOrEqual(2);
	expect(families.get('openagents_queue_jobs')?.metrics.length).toBeGreaterThan(0);
	// Counted from 7 days ago (Count From (Days Ago), the example's setting).
	const start = value('openagents_index_start_timestamp_seconds', {});
	expect(Math.abs(start - (Date.now() / 1000 - 7 * 86_400))).toBeLessThan(3600);
}, 60_000);

it('Get Stats adds usage totals and a series only when asked', async () => {
	const stats = async (body: object) =>
		(await (await client.webhook(paths.stats, { workflowId: mixed.id, ...body })).json()) as {
			total: number;
			usage?: Record<string, number>;
			series?: Array<{
				byStatus: Record<string, number>;
				tokensByWorkflow: Record<string, number>;
			}>;
		};
	const plain = await stats({ includeUsage: false, bucketMinutes: 0 });
	expect(plain.total).toBe(8);
	expect(plain.usage).toBeUndefined();
	expect(plain.series).toBeUndefined();

	const full = await stats({ includeUsage: true, bucketMinutes: 5 });
	expect(full.usage).toMatchObject({
		executions: 2,
		modelCalls: 2,
		totalTokens: sum(executions.map((e) => custom(e, 'openagents_total_tokens'))),
	});
	expect(full.series!.length).toBeGreaterThanOrEqual(12); // 60 min in 5 min steps (+ a partial one)
	expect(sum(full.series!.map((b) => sum(Object.values(b.byStatus))))).toBe(8);
	expect(sum(full.series!.map((b) => b.tokensByWorkflow[mixed.id] ?? 0))).toBe(
		full.usage!.totalTokens,
	);
}, 60_000);

it('says what is missing in place of the affected panel and renders the rest', async () => {
	const page = async (path: string, query: string) => {
		const res = await fetch(`${client.url}/webhook/${path}?${query}`, {
			headers: { authorization },
		});
		expect(res.status).toBe(200);
		return res.text();
	};
	// Unknown workflow: the executions panel says so; queue and workers still render.
	const unknown = await page(paths.ops, 'range=1h&workflow=99999999');
	expect(unknown).toMatch(/data-panel="notice">Unknown workflow &quot;99999999&quot;/);
	expect(unknown).toContain('data-panel="analytics" role="alert"');
	expect(unknown).toMatch(/data-panel="queue">/);
	expect(unknown).toMatch(/data-panel="workers">/);

	// Empty window.
	const empty = await page(
		paths.ops,
		`range=custom&from=2020-01-01T00:00&to=2020-01-02T00:00&workflow=${mixed.id}`,
	);
	expect(empty).toContain('data-panel="empty"');
	expect(empty).toMatch(
		/data-kpi="executions"><span class="label">Executions<\/span><span class="value">0</,
	);

	// Queue Redis unreachable: queue and workers panels say why; the executions are read without the shared cache.
	const down = await page(paths.opsRedisDown, `range=1h&workflow=${mixed.id}`);
	expect(down).toMatch(
		/data-panel="queue" role="alert"><h2>Queue<\/h2><p>Cannot read the queue from Redis/,
	);
	expect(down).toMatch(/data-panel="workers" role="alert">/);
	expect(down).toMatch(/data-panel="notice">The shared cache \(Memory Store\) cannot be reached/);
	expect(down).toMatch(
		/data-kpi="executions"><span class="label">Executions<\/span><span class="value">8</,
	);
}, 120_000);
