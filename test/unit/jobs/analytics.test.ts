/**
 * lib/jobs analytics, Prometheus metrics and the dashboard page, on summaries built here: windows and buckets, nearest-
 * rank percentiles against a reference, usage sums from custom data, the exposition text parsed by a Prometheus
 * parser, worker answers as n8n sends them, and the page's escaping and per-panel errors.
 */
import {
	addSummary,
	analyze,
	analyzeCells,
	bucketFor,
	dashboardHtml,
	parseAnswer,
	prometheusMetrics,
	summarize,
	usageFromCustomData,
	type ApiExecution,
	type DashboardInput,
	type ExecutionSummary,
	type IndexCoverage,
	type MinuteCells,
} from '../../../lib/jobs';
import { mergeCells } from '../../../lib/jobs/execution-aggregates';
import { percentile } from '../../../lib/stats';
import { parsePrometheusText } from '../../support/prometheus-parser';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function execution(
	id: number,
	startOffsetMs: number,
	durationMs: number,
	status: ApiExecution['status'],
	extra: Partial<ApiExecution> = {},
): ApiExecution {
	return {
		id,
		workflowId: extra.workflowId ?? 'wfA',
		status,
		mode: 'webhook',
		startedAt: iso(T0 + startOffsetMs),
		stoppedAt: status === 'running' ? null : iso(T0 + startOffsetMs + durationMs),
		...extra,
	};
}

const usageData = (tokens: number, cost: number, extra: Record<string, string> = {}) => ({
	openagents_model_calls: '2',
	openagents_prompt_tokens: String(tokens - 10),
	openagents_completion_tokens: '10',
	openagents_total_tokens: String(tokens),
	openagents_cost: String(cost),
	...extra,
});

describe('summaries', () => {
	it('read usage from our custom data keys and nothing else', () => {
		expect(usageFromCustomData(undefined)).toBeUndefined();
		expect(usageFromCustomData({ other: '5' })).toBeUndefined();
		expect(usageFromCustomData(usageData(100, 0.5, { openagents_tool_errors: '3' }))).toEqual({
			modelCalls: 2,
			promptTokens: 90,
			completionTokens: 10,
			totalTokens: 100,
			cost: 0.5,
			retries: 0,
			toolErrors: 3,
		});
		expect(usageFromCustomData({ openagents_total_tokens: 'x' })?.totalTokens).toBe(0);
	});

	it('are detailed only when read with data, with error and node from it', () => {
		expect(summarize(execution(1, 0, 10, 'success')).detailed).toBeUndefined();
		const failed = summarize(
			execution(2, 0, 10, 'error', {
				data: { resultData: { error: { message: 'boom', node: { name: 'HTTP' } } } },
				customData: usageData(40, 0.1),
			}),
		);
		expect(failed).toMatchObject({
			detailed: true,
			error: { message: 'boom', node: 'HTTP' },
			usage: { totalTokens: 40 },
		});
	});
});

describe('analyze', () => {
	const window = { from: iso(T0), to: iso(T0 + 3600_000), bucketMs: 600_000 };

	it('counts only executions that started in the window, per bucket and status', () => {
		const summaries = [
			execution(1, -1, 100, 'success'), // before the window
			execution(2, 0, 100, 'success'),
			execution(3, 599_999, 300, 'error'),
			execution(4, 600_000, 200, 'success'),
			execution(5, 3599_999, 50, 'running'),
			execution(6, 3600_000, 100, 'success'), // at the end: outside
		].map(summarize);
		const result = analyze(summaries, window);
		expect(result.stats.total).toBe(4);
		expect(result.series).toHaveLength(6);
		expect(result.series[0].byStatus).toMatchObject({ success: 1, error: 1 });
		expect(result.series[1].byStatus.success).toBe(1);
		expect(result.series[5].byStatus.running).toBe(1);
		expect(result.series.map((b) => b.start)).toEqual(
			Array.from({ length: 6 }, (_, i) => iso(T0 + i * 600_000)),
		);
		expect(result.series[0].durationP95).toBe(300);
		expect(result.series[2].durationP50).toBeNull();
	});

	it('matches reference percentiles and sums usage per workflow and bucket', () => {
		const durations = Array.from({ length: 97 }, (_, i) => ((i * 7919) % 1000) + 1);
		const summaries = durations.map((d, i) =>
			summarize(
				execution(i + 1, i * 1000, d, i % 10 === 0 ? 'error' : 'success', {
					workflowId: i % 3 === 0 ? 'wfB' : 'wfA',
					customData: i % 2 === 0 ? usageData(100 + i, 0.001 * i) : undefined,
					data: { resultData: {} },
				}),
			),
		);
		const result = analyze(summaries, window);
		expect(result.stats.durationMs.p50).toBe(percentile(durations, 50));
		expect(result.stats.durationMs.p95).toBe(percentile(durations, 95));
		const withUsage = summaries.filter((s) => s.usage);
		expect(result.usage.executions).toBe(withUsage.length);
		expect(result.usage.totalTokens).toBe(withUsage.reduce((a, s) => a + s.usage!.totalTokens, 0));
		expect(result.usage.cost).toBeCloseTo(
			withUsage.reduce((a, s) => a + s.usage!.cost, 0),
			8,
		);
		const wfB = result.workflows.find((w) => w.workflowId === 'wfB')!;
		expect(wfB.executions).toBe(summaries.filter((s) => s.workflowId === 'wfB').length);
		expect(wfB.failed).toBe(
			summaries.filter((s) => s.workflowId === 'wfB' && s.status === 'error').length,
		);
		const bucketTokens = result.series.reduce(
			(a, b) => a + Object.values(b.tokensByWorkflow).reduce((x, y) => x + y, 0),
			0,
		);
		expect(bucketTokens).toBe(result.usage.totalTokens);
	});

	it('refuses an empty window and too fine buckets', () => {
		expect(() => analyze([], { ...window, to: window.from })).toThrow(RangeError);
		expect(() => analyze([], { ...window, bucketMs: 10 })).toThrow(RangeError);
	});

	it('picks bucket widths that keep the chart readable', () => {
		expect(bucketFor(3600_000)).toBe(60_000);
		expect(bucketFor(24 * 3600_000)).toBe(30 * 60_000);
		expect(bucketFor(30 * 24 * 3600_000)).toBe(12 * 3600_000);
		expect(bucketFor(90 * 24 * 3600_000)).toBe(24 * 3600_000);
	});
});

describe('analyzeCells', () => {
	const window = { from: iso(T0), to: iso(T0 + 3 * 3600_000), bucketMs: 15 * 60_000 };
	/** Executions of three workflows over three hours (some before and after the window), every status, usage,
	 * failures of several nodes and messages, ties in duration and in tokens. */
	const summaries = Array.from({ length: 600 }, (_, i) => {
		const statuses = [
			'success',
			'error',
			'crashed',
			'canceled',
			'running',
			'waiting',
			'new',
		] as const;
		const status = statuses[(i * 5) % statuses.length];
		const failed = status === 'error' || status === 'crashed';
		return summarize(
			execution(i + 1, (i - 20) * 19_000, ((i * 7919) % 3000) + (i % 4), status, {
				workflowId: ['wfA', 'wfB', 'wfC'][i % 3],
				retryOf: i % 13 === 0 ? String(i) : null,
				customData: i % 2 ? usageData(100 + (i % 5), 0.0001 * (i % 7)) : undefined,
				data: {
					resultData: failed
						? { error: { message: `failure ${i % 3}`, node: { name: `Node ${i % 2}` } } }
						: {},
				},
			}),
		);
	}).sort((a, b) => Number(b.id) - Number(a.id));

	it('gives what analyze gives over the same executions, however the cells were merged', () => {
		const whole: MinuteCells = new Map();
		for (const s of summaries) addSummary(whole, s);
		expect(analyzeCells(whole, window)).toEqual(analyze(summaries, window));
		// Built in two halves stored apart, then merged (as refreshes and the view do).
		const [a, b]: MinuteCells[] = [new Map(), new Map()];
		summaries.forEach((s, i) => addSummary(i % 2 ? a : b, s));
		const merged: MinuteCells = new Map();
		mergeCells(merged, a);
		mergeCells(merged, b);
		expect(analyzeCells(merged, window)).toEqual(analyze(summaries, window));
		expect(analyze(summaries, window).stats.failures.length).toBeGreaterThan(3);
	});

	it('answers whole minutes only', () => {
		expect(() => analyzeCells(new Map(), { ...window, from: iso(T0 + 1) })).toThrow(RangeError);
		expect(() => analyzeCells(new Map(), { ...window, bucketMs: 90_000 })).toThrow(RangeError);
	});
});

describe('prometheusMetrics', () => {
	it('exports counters and a histogram that a Prometheus parser reads back as the executions were', async () => {
		const summaries: ExecutionSummary[] = [
			execution(1, 0, 400, 'success', {
				customData: usageData(100, 0.25, { openagents_tool_errors: '2' }),
			}),
			execution(2, 0, 3000, 'error', {
				retryOf: 1,
				customData: usageData(50, 0.05, { openagents_retries: '1' }),
			}),
			execution(3, 0, 100, 'success', { workflowId: 'wf"B' }),
			execution(4, 0, 0, 'running'),
		].map(summarize);
		const { text, contentType } = await prometheusMetrics({
			summaries,
			workflowNames: new Map([['wfA', 'Agent flow']]),
			indexFrom: iso(T0),
			queue: {
				source: 'redis',
				waiting: 3,
				active: 1,
				completed: 9,
				failed: 2,
				delayed: 0,
				paused: 0,
			},
			workers: [{ id: 'w1', answered: true } as never, { id: 'w2', answered: false } as never],
			currency: 'EUR',
		});
		expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
		const families = new Map(parsePrometheusText(text).map((f) => [f.name, f]));
		const value = (name: string, labels: Record<string, string>) =>
			Number(
				families
					.get(name)!
					.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
					?.value,
			);
		expect(families.get('openagents_executions_total')!.type).toBe('COUNTER');
		expect(value('openagents_executions_total', { workflow_id: 'wfA', status: 'success' })).toBe(1);
		expect(value('openagents_executions_total', { workflow_id: 'wfA', status: 'error' })).toBe(1);
		expect(value('openagents_executions_total', { workflow_id: 'wf"B', status: 'success' })).toBe(
			1,
		);
		expect(
			value('openagents_executions_total', {
				workflow_id: 'wfA',
				workflow_name: 'Agent flow',
				status: 'running',
			}),
		).toBe(1);
		expect(value('openagents_tokens_total', { workflow_id: 'wfA', type: 'prompt' })).toBe(90 + 40);
		expect(value('openagents_cost_total', { workflow_id: 'wfA' })).toBeCloseTo(0.3, 8);
		expect(families.get('openagents_cost_total')!.help).toContain('EUR');
		expect(value('openagents_tool_errors_total', { workflow_id: 'wfA' })).toBe(2);
		expect(value('openagents_model_retries_total', { workflow_id: 'wfA' })).toBe(1);
		expect(value('openagents_execution_retries_total', { workflow_id: 'wfA' })).toBe(1);
		expect(value('openagents_queue_jobs', { state: 'waiting' })).toBe(3);
		expect(value('openagents_workers', {})).toBe(1);
		expect(value('openagents_index_start_timestamp_seconds', {})).toBe(T0 / 1000);
		const histogram = families.get('openagents_execution_duration_seconds')!;
		expect(histogram.type).toBe('HISTOGRAM');
		// The parser folds labelled histograms into one bucket map, so the wfA series is read from the text itself.
		const sample = (suffix: string, le?: string) =>
			Number(
				new RegExp(
					`^openagents_execution_duration_seconds_${suffix}\\{${le ? `le="${le.replace('+', '\\+')}",` : ''}workflow_id="wfA",workflow_name="Agent flow"\\} (\\S+)$`,
					'm',
				).exec(text)?.[1],
			);
		expect(sample('count')).toBe(2); // the running one has no duration
		expect(sample('sum')).toBeCloseTo(3.4, 6);
		expect(sample('bucket', '0.5')).toBe(1);
		expect(sample('bucket', '2.5')).toBe(1);
		expect(sample('bucket', '5')).toBe(2);
		expect(sample('bucket', '+Inf')).toBe(2);
	});
});

describe('parseAnswer', () => {
	it("reads a worker's get-worker-status answer and ignores other messages", () => {
		const answer = parseAnswer(
			JSON.stringify({
				senderId: 'worker-abc',
				response: 'response-to-get-worker-status',
				payload: {
					hostname: 'host1',
					version: '2.41.1',
					uptime: 120.5,
					loadAvg: [0.5, 0.4, 0.3],
					process: { memory: { rss: 104857600 } },
					runningJobsSummary: [
						{
							executionId: '42',
							workflowId: 'wf1',
							workflowName: 'A',
							startedAt: '2026-12-01T10:00:00.000Z',
						},
					],
				},
			}),
		);
		expect(answer).toMatchObject({
			hostId: 'worker-abc',
			id: 'worker-abc',
			hostname: 'host1',
			memoryRssBytes: 104857600,
			load1: 0.5,
			running: [{ executionId: '42', workflowId: 'wf1' }],
			answered: true,
		});
		expect(parseAnswer('{"response":"something-else","senderId":"x"}')).toBeUndefined();
		expect(parseAnswer('not json')).toBeUndefined();
	});
});

describe('dashboardHtml', () => {
	const base = (): DashboardInput => ({
		title: 'Ops <b>',
		window: { from: iso(T0), to: iso(T0 + 3600_000), range: '1h' },
		workflowId: '',
		workflows: [{ id: 'wfA', name: 'Flow "A" </script>' }],
		n8nUrl: 'http://n8n.local',
		currency: 'USD',
		analytics: {
			data: analyze(
				[
					summarize(
						execution(7, 1000, 500, 'error', {
							data: {
								resultData: {
									error: { message: '<img src=x onerror=alert(1)>', node: { name: 'Tool' } },
								},
							},
						}),
					),
				],
				{ from: iso(T0), to: iso(T0 + 3600_000), bucketMs: 60_000 },
			),
			coverage: {
				from: iso(T0),
				executions: 1,
				truncated: false,
				refreshedAt: iso(T0),
				source: 'refreshed',
				listed: 1,
				detailed: 1,
			},
		},
		queue: { error: 'Cannot read the queue from Redis: connect ECONNREFUSED' },
		workers: { data: [] },
		executionWorkflows: { '7': 'wfA' },
		generatedAt: iso(T0),
	});

	it('escapes every text it shows and keeps the embedded data inside its script element', () => {
		const html = dashboardHtml(base());
		expect(html).not.toContain('<img src=x');
		expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
		expect(html).toContain('<title>Ops &lt;b&gt;</title>');
		const data = /<script type="application\/json" id="dashboard-data">([\s\S]*?)<\/script>/.exec(
			html,
		)![1];
		expect(data).not.toContain('</script');
		expect(JSON.parse(data).workflowNames.wfA).toBe('Flow "A" </script>');
		expect(html).toContain('href="http://n8n.local/workflow/wfA/executions/7"');
	});

	it("shows a failed panel's reason in its place and renders the rest", () => {
		const html = dashboardHtml(base());
		expect(html).toMatch(
			/data-panel="queue" role="alert"><h2>Queue<\/h2><p>Cannot read the queue from Redis/,
		);
		expect(html).toContain('data-kpi="executions"');
		const noAnalytics = dashboardHtml({ ...base(), analytics: { error: 'n8n API unreachable' } });
		expect(noAnalytics).toMatch(/data-panel="analytics" role="alert">.*n8n API unreachable/);
		expect(noAnalytics).not.toContain('data-kpi=');
		expect(noAnalytics).toContain('data-panel="workers"');
	});

	it('says when the window is empty', () => {
		const html = dashboardHtml({
			...base(),
			analytics: {
				data: analyze([], { from: iso(T0), to: iso(T0 + 60_000), bucketMs: 60_000 }),
				coverage: (base().analytics as { coverage: IndexCoverage }).coverage,
			},
		});
		expect(html).toContain('data-panel="empty"');
	});
});
