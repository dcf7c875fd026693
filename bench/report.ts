/**
 * The benchmark report: bench/results/REPORT.md (every figure with the command and machine that produced it) and
 * SVG bar charts of the side-by-side comparisons, from bench/results/latest.json. `npm run bench` writes it after
 * each run; `npx tsx bench/report.ts` rewrites it from the JSON alone.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { evalTables, type EvalResult } from './eval/table';

export interface Entry {
	at: string;
	machine: { cpus: number; cpu?: string; memoryGiB: number; node: string };
	result: Record<string, unknown>;
	/** Set when a later run of this benchmark failed: the figures are the earlier ones, of `at`. */
	stale?: { failedAt: string; error: string };
}

/**
 * latest.json's results after a run: the earlier entries, each benchmark that ran replaced by its new entry, each
 * that failed keeping its earlier figures marked stale (with when and why it failed), or left out if it had none.
 */
export function mergeResults(
	earlier: Record<string, Entry>,
	ran: Record<string, Entry>,
	failed: Record<string, { failedAt: string; error: string }>,
): Record<string, Entry> {
	const merged: Record<string, Entry> = { ...earlier, ...ran };
	for (const [name, failure] of Object.entries(failed))
		if (earlier[name]) merged[name] = { ...earlier[name], stale: failure };
	return merged;
}

interface Bar {
	label: string;
	value: number;
}

/** A horizontal bar chart as SVG: one bar per value, the value written at its end. */
export function barChart(title: string, unit: string, bars: readonly Bar[]): string {
	const width = 640;
	const labelWidth = 180;
	const barHeight = 26;
	const top = 36;
	const max = Math.max(...bars.map((b) => b.value), 1e-9);
	const plot = width - labelWidth - 150; // room for the value after the longest bar
	const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
	const rows = bars.map((bar, i) => {
		const y = top + i * (barHeight + 10);
		const w = Math.max(1, (bar.value / max) * plot);
		return [
			`<text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end">${escape(bar.label)}</text>`,
			`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${i % 2 ? '#8a94a6' : '#ff6d5a'}"/>`,
			`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 18}">${bar.value.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${escape(unit)}</text>`,
		].join('');
	});
	const height = top + bars.length * (barHeight + 10) + 6;
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13"><rect width="100%" height="100%" fill="#fff"/><text x="12" y="22" font-weight="bold">${escape(title)}</text>${rows.join('')}</svg>\n`;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

/** A list of objects (e.g. one entry per size measured): shown as a table of its own, one column per entry. */
const isEntryList = (value: unknown): value is Array<Record<string, unknown>> =>
	Array.isArray(value) && value.length > 0 && value.every(isRecord);

const formatFigure = (value: unknown): string =>
	typeof value === 'number'
		? value.toLocaleString('en-US', { maximumFractionDigits: 3 })
		: typeof value === 'object' && value !== null
			? JSON.stringify(value)
			: String(value);

/**
 * Nested figures as `a.b.c | value` rows; a list of numbers or words as one row, its items separated by `; ` (a comma
 * would read as a thousands separator). A list of objects goes to `lists` (as its path and entries) when given, else
 * it becomes `a[0].b` rows.
 */
function flatten(
	value: unknown,
	prefix = '',
	lists?: Array<[string, Array<Record<string, unknown>>]>,
): Array<[string, string]> {
	if (isRecord(value))
		return Object.entries(value).flatMap(([key, v]) =>
			flatten(v, prefix ? `${prefix}.${key}` : key, lists),
		);
	if (isEntryList(value)) {
		if (lists) {
			lists.push([prefix, value]);
			return [];
		}
		return value.flatMap((entry, i) => flatten(entry, `${prefix}[${i}]`));
	}
	if (Array.isArray(value)) return [[prefix, value.map(formatFigure).join('; ')]];
	return [[prefix, formatFigure(value)]];
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** A result's figures: a `figure | value` table, then one table per list of objects, a column per entry. */
function figureTables(result: Record<string, unknown>): string[] {
	const lists: Array<[string, Array<Record<string, unknown>>]> = [];
	const rows = flatten(result, '', lists);
	const tables = lists.flatMap(([path, entries]) => {
		const columns = entries.map((entry) => new Map(flatten(entry)));
		const figures = [...new Set(columns.flatMap((column) => [...column.keys()]))];
		return [
			`**${path}** (${entries.length} entries, one column each; — where an entry has no such figure)`,
			'',
			`| figure | ${entries.map((_, i) => `${path}[${i}]`).join(' | ')} |`,
			`|---|${'---|'.repeat(entries.length)}`,
			...figures.map(
				(figure) =>
					`| ${figure} | ${columns.map((column) => cell(column.get(figure) ?? '—')).join(' | ')} |`,
			),
			'',
		];
	});
	return [
		...(rows.length
			? [
					'| figure | value |',
					'|---|---|',
					...rows.map(([key, value]) => `| ${key} | ${cell(value)} |`),
					'',
				]
			: []),
		...tables,
	];
}

const num = (value: unknown) => Number(value);
const get = (result: Record<string, unknown>, path: string): unknown =>
	path
		.split('.')
		.reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], result);

/** Charts for the benchmarks that compare two variants; a benchmark without one gets only its table. */
const CHARTS: Record<string, (r: Record<string, unknown>) => Array<{ file: string; svg: string }>> =
	{
		agent: (r) => [
			{
				file: 'agent-throughput.svg',
				svg: barChart('Webhook → agent (1 tool call) → respond, queue mode', 'executions/s', [
					{
						label: 'OpenAgents Agent',
						value: num(get(r, 'n8n.openAgentsAgent.executionsPerSecond')),
					},
					{ label: "n8n's AI Agent", value: num(get(r, 'n8n.n8nAiAgent.executionsPerSecond')) },
				]),
			},
			{
				file: 'agent-latency.svg',
				svg: barChart('Same flow, latency p50 / p95', 'ms', [
					{ label: 'OpenAgents p50', value: num(get(r, 'n8n.openAgentsAgent.latencyMs.p50')) },
					{ label: "n8n's AI Agent p50", value: num(get(r, 'n8n.n8nAiAgent.latencyMs.p50')) },
					{ label: 'OpenAgents p95', value: num(get(r, 'n8n.openAgentsAgent.latencyMs.p95')) },
					{ label: "n8n's AI Agent p95", value: num(get(r, 'n8n.n8nAiAgent.latencyMs.p95')) },
				]),
			},
		],
		'chat-completions': (r) => [
			{
				file: 'chat-completions-ttft.svg',
				svg: barChart('Streamed answer, time to first token p50 (model latency 500 ms)', 'ms', [
					{ label: 'model directly', value: num(get(r, 'direct.timeToFirstTokenMs.p50')) },
					{
						label: 'Chat Completions Trigger',
						value: num(get(r, 'trigger.timeToFirstTokenMs.p50')),
					},
					{
						label: "n8n's streaming Webhook",
						value: num(get(r, 'n8nWebhook.timeToFirstTokenMs.p50')),
					},
				]),
			},
		],
		planner: (r) => [
			{
				file: 'planner-parallel.svg',
				svg: barChart('8 independent tasks, 500 ms model latency: wall time', 'ms', [
					{ label: 'Planner, concurrency 8', value: num(get(r, 'parallel.wallMs')) },
					{ label: 'one after another', value: num(get(r, 'sequential.wallMs')) },
				]),
			},
			{
				file: 'planner-n8n.svg',
				svg: barChart('Same 8 tasks in queue-mode n8n: wall time per request, p50', 'ms', [
					{
						label: 'OpenAgents Planner',
						value: num(get(r, 'n8n.openAgentsPlanner.latencyMs.p50')),
					},
					{
						label: 'n8n branches (LLM Chain)',
						value: num(get(r, 'n8n.n8nBranches.latencyMs.p50')),
					},
					{
						label: 'n8n LLM Chain, batch of 8',
						value: num(get(r, 'n8n.n8nBatchedChain.latencyMs.p50')),
					},
					{
						label: 'n8n sub-workflow fan-out',
						value: num(get(r, 'n8n.n8nSubWorkflowFanOut.latencyMs.p50')),
					},
				]),
			},
		],
		'provider-limits': (r) => {
			const bar = (label: string, variant: string) => ({
				label: `${label} (${num(get(r, `variants.${variant}.jobsSucceeded`))} ok)`,
				value: num(get(r, `variants.${variant}.timeToIdeal`)),
			});
			return [
				{
					file: 'provider-limits.svg',
					svg: barChart(
						`${num(get(r, 'jobs'))} agent jobs at a provider's limit: total time ÷ ideal (all jobs' requests ÷ limit)`,
						'× ideal',
						[
							bar('ours, shared limit', 'oursSharedLimiter'),
							bar('ours, no limiter', 'oursNoLimiter'),
							bar('n8n AI Agent', 'n8nAiAgentRetryOnFail'),
						],
					),
				},
			];
		},
		tracing: (r) => [
			{
				file: 'tracing.svg',
				svg: barChart(
					'Agent loop (2 model round-trips, 1 tool call), no model latency: p50',
					'ms',
					[
						{ label: 'untraced', value: num(get(r, 'off.p50')) },
						{ label: 'traced, endpoint up', value: num(get(r, 'on.p50')) },
						{ label: 'traced, endpoint down', value: num(get(r, 'endpointDown.p50')) },
						{ label: 'traced, endpoint hanging', value: num(get(r, 'endpointHanging.p50')) },
					],
				),
			},
		],
		'knowledge-base-vs-n8n': (r) => [
			{
				file: 'knowledge-base-ingest.svg',
				svg: barChart('Ingest through n8n (queue mode): chunks per second', 'chunks/s', [
					{
						label: 'OpenAgents Knowledge Base',
						value: num(get(r, 'ingest.openAgentsKnowledgeBase.chunksPerSecond')),
					},
					{
						label: "n8n's Chroma Vector Store",
						value: num(get(r, 'ingest.n8nChromaVectorStore.chunksPerSecond')),
					},
				]),
			},
			{
				file: 'knowledge-base-reingest.svg',
				svg: barChart('Re-ingest of unchanged documents: time', 'ms', [
					{
						label: 'OpenAgents Knowledge Base',
						value: num(get(r, 'reingestUnchanged.openAgentsKnowledgeBase.ms')),
					},
					{
						label: "n8n's Chroma Vector Store",
						value: num(get(r, 'reingestUnchanged.n8nChromaVectorStore.ms')),
					},
				]),
			},
		],
		'memory-vs-n8n': (r) => [
			{
				file: 'memory-turn-latency.svg',
				svg: barChart('20-turn conversations: latency per turn (p50 / p95)', 'ms', [
					{
						label: 'OpenAgents p50',
						value: num(get(r, 'openAgentsChatMemory.latencyPerTurnMs.p50')),
					},
					{
						label: 'n8n Redis Memory p50',
						value: num(get(r, 'n8nRedisChatMemory.latencyPerTurnMs.p50')),
					},
					{
						label: 'OpenAgents p95',
						value: num(get(r, 'openAgentsChatMemory.latencyPerTurnMs.p95')),
					},
					{
						label: 'n8n Redis Memory p95',
						value: num(get(r, 'n8nRedisChatMemory.latencyPerTurnMs.p95')),
					},
				]),
			},
		],
		'queue-scaling': (r) => [
			{
				file: 'queue-scaling.svg',
				svg: barChart('Queue mode, 1 and 2 workers: executions per second', 'executions/s', [
					{
						label: 'flagship, 1 worker',
						value: num(get(r, 'flagship.oneWorker.executionsPerSecond')),
					},
					{
						label: 'flagship, 2 workers',
						value: num(get(r, 'flagship.twoWorkers.executionsPerSecond')),
					},
					{ label: 'agent, 1 worker', value: num(get(r, 'agent.oneWorker.executionsPerSecond')) },
					{ label: 'agent, 2 workers', value: num(get(r, 'agent.twoWorkers.executionsPerSecond')) },
				]),
			},
		],
		jobs: (r) => [
			{
				file: 'jobs-targets.svg',
				svg: barChart('Jobs in queue mode, p95 against the targets', 'ms', [
					{ label: 'job enqueued (p95)', value: num(get(r, 'jobCreation.enqueuedMs.p95')) },
					{ label: 'target', value: num(get(r, 'jobCreation.targetMs')) },
					{ label: 'Get Job (p95)', value: num(get(r, 'statusRead.getJobMs.p95')) },
					{ label: 'target', value: num(get(r, 'statusRead.targetMs')) },
				]),
			},
		],
		'llm-call-overhead': (r) => [
			{
				file: 'llm-call-overhead.svg',
				svg: barChart('One chat model call, offline model, p50', 'ms', [
					{ label: 'lib/llm invokeChatModel', value: num(get(r, 'invokeChatModel.p50')) },
					{ label: 'LangChain ChatOpenAI', value: num(get(r, 'rawChatOpenAI.p50')) },
				]),
			},
		],
	};

/**
 * The side-by-side ratios, quoted at the top of the report: ours, the other side, ours ÷ other. `other` names the
 * other side; `measures` says what the ratio measures where the two sides do not do the same work.
 */
const COMPARISONS: Array<{
	bench: string;
	label: string;
	unit: string;
	ours: string;
	theirs: string;
	better: 'higher' | 'lower';
	other?: string;
	measures?: string;
}> = [
	{
		bench: 'provider-limits',
		label:
			"Agent jobs submitted at once at a provider's limit vs n8n's AI Agent with Retry On Fail: requests refused (HTTP 429)",
		unit: 'requests',
		ours: 'variants.oursSharedLimiter.refused429',
		theirs: 'variants.n8nAiAgentRetryOnFail.refused429',
		better: 'lower',
	},
	{
		bench: 'provider-limits',
		label:
			"Agent jobs submitted at once at a provider's limit vs n8n's AI Agent with Retry On Fail: total time",
		unit: 'ms',
		ours: 'variants.oursSharedLimiter.totalMs',
		theirs: 'variants.n8nAiAgentRetryOnFail.totalMs',
		better: 'lower',
	},
	{
		bench: 'knowledge-base-vs-n8n',
		label: "Ingest vs n8n's Chroma Vector Store + Default Data Loader",
		unit: 'chunks/s',
		ours: 'ingest.openAgentsKnowledgeBase.chunksPerSecond',
		theirs: 'ingest.n8nChromaVectorStore.chunksPerSecond',
		better: 'higher',
	},
	{
		bench: 'knowledge-base-vs-n8n',
		label:
			"Ingest vs n8n's Chroma Vector Store + Default Data Loader, embeddings answering in 100 ms (realistic latency)",
		unit: 'chunks/s',
		ours: 'realisticLatency.ingest.openAgentsKnowledgeBase.chunksPerSecond',
		theirs: 'realisticLatency.ingest.n8nChromaVectorStore.chunksPerSecond',
		better: 'higher',
	},
	{
		bench: 'knowledge-base-vs-n8n',
		label:
			"Ingest, embeddings answering in 100 ms: time over the floor (n8n's webhook → Split Out → No Operation with the same requests + Chroma's own writes of the same chunks + one embedding round trip per request, measured in the same run)",
		measures:
			"n8n's figure is also the largest throughput ratio any ingest could reach against it on this machine",
		unit: '× floor',
		ours: 'realisticLatency.ingest.floor.oursOverFloor',
		theirs: 'realisticLatency.ingest.floor.bestPossibleRatio',
		better: 'lower',
	},
	{
		bench: 'knowledge-base-vs-n8n',
		label: 'Re-ingest of unchanged documents: time',
		measures:
			"ours skips the unchanged documents; n8n's Chroma Vector Store inserts them again, duplicating every chunk: the time of a no-op against a re-insert",
		unit: 'ms',
		ours: 'reingestUnchanged.openAgentsKnowledgeBase.ms',
		theirs: 'reingestUnchanged.n8nChromaVectorStore.ms',
		better: 'lower',
	},
	{
		bench: 'knowledge-base-vs-n8n',
		label: 'Re-ingest of unchanged documents: embedding calls',
		unit: 'calls',
		ours: 'reingestUnchanged.openAgentsKnowledgeBase.embeddingCalls',
		theirs: 'reingestUnchanged.n8nChromaVectorStore.embeddingCalls',
		better: 'lower',
	},
	{
		bench: 'agent',
		label: "Agent vs n8n's AI Agent: throughput",
		unit: 'executions/s',
		ours: 'n8n.openAgentsAgent.executionsPerSecond',
		theirs: 'n8n.n8nAiAgent.executionsPerSecond',
		better: 'higher',
	},
	{
		bench: 'agent',
		label: "Agent vs n8n's AI Agent: throughput, model answering in 500 ms (realistic latency)",
		unit: 'executions/s',
		ours: 'n8nRealisticLatency.openAgentsAgent.executionsPerSecond',
		theirs: 'n8nRealisticLatency.n8nAiAgent.executionsPerSecond',
		better: 'higher',
	},
	{
		bench: 'agent',
		label:
			"Agent throughput, model answering in 500 ms, against the ceiling: n8n's webhook → Set → respond in the same rounds (p50) + 2 model latencies",
		other: 'the ceiling',
		measures:
			"n8n's AI Agent is compared with the same ceiling in the agent section (ceiling.bestPossibleThroughputRatio)",
		unit: 'executions/s',
		ours: 'n8nRealisticLatency.openAgentsAgent.executionsPerSecond',
		theirs: 'n8nRealisticLatency.ceiling.executionsPerSecond',
		better: 'higher',
	},
	{
		bench: 'agent',
		label: "Agent vs n8n's AI Agent: latency p50",
		unit: 'ms',
		ours: 'n8n.openAgentsAgent.latencyMs.p50',
		theirs: 'n8n.n8nAiAgent.latencyMs.p50',
		better: 'lower',
	},
	{
		bench: 'agent',
		label: "Agent vs n8n's AI Agent: latency p95",
		unit: 'ms',
		ours: 'n8n.openAgentsAgent.latencyMs.p95',
		theirs: 'n8n.n8nAiAgent.latencyMs.p95',
		better: 'lower',
	},
	{
		bench: 'memory-vs-n8n',
		label:
			"Chat Memory vs n8n's Redis Chat Memory: latency per turn p50, model answering in 500 ms (realistic)",
		unit: 'ms',
		ours: 'realisticLatency.openAgentsChatMemory.latencyPerTurnMs.p50',
		theirs: 'realisticLatency.n8nRedisChatMemory.latencyPerTurnMs.p50',
		better: 'lower',
	},
	{
		bench: 'memory-vs-n8n',
		label: "Chat Memory vs n8n's Redis Chat Memory: latency per turn p50",
		unit: 'ms',
		ours: 'openAgentsChatMemory.latencyPerTurnMs.p50',
		theirs: 'n8nRedisChatMemory.latencyPerTurnMs.p50',
		better: 'lower',
	},
	{
		bench: 'memory-vs-n8n',
		label: "Chat Memory vs n8n's Redis Chat Memory: latency per turn p95",
		unit: 'ms',
		ours: 'openAgentsChatMemory.latencyPerTurnMs.p95',
		theirs: 'n8nRedisChatMemory.latencyPerTurnMs.p95',
		better: 'lower',
	},
	{
		bench: 'planner',
		label:
			'8 tasks: Planner vs the 8 tasks as items of one Basic LLM Chain with Batch Processing (batch size 8), wall time p50',
		unit: 'ms',
		ours: 'n8n.openAgentsPlanner.latencyMs.p50',
		theirs: 'n8n.n8nBatchedChain.latencyMs.p50',
		better: 'lower',
	},
	{
		bench: 'planner',
		label:
			"8 tasks: Planner vs n8n's sub-workflow fan-out (Execute Workflow per task without waiting, answers gathered through Redis), wall time p50",
		unit: 'ms',
		ours: 'n8n.openAgentsPlanner.latencyMs.p50',
		theirs: 'n8n.n8nSubWorkflowFanOut.latencyMs.p50',
		better: 'lower',
	},
	{
		bench: 'planner',
		label: '8 tasks: Planner vs 8 n8n branches of Basic LLM Chain, wall time p50',
		measures: 'n8n runs branches one after another',
		unit: 'ms',
		ours: 'n8n.openAgentsPlanner.latencyMs.p50',
		theirs: 'n8n.n8nBranches.latencyMs.p50',
		better: 'lower',
	},
	{
		bench: 'chat-completions',
		label:
			"Streamed answer through an n8n flow: Chat Completions Trigger → Agent vs n8n's streaming Webhook with Header Auth → AI Agent, time to first token p50",
		measures:
			'both check a key (a credential), both in queue mode, same model (500 ms latency, then 50 events/s); the model alone takes the `direct` figure',
		unit: 'ms',
		ours: 'trigger.timeToFirstTokenMs.p50',
		theirs: 'n8nWebhookHeaderAuth.timeToFirstTokenMs.p50',
		better: 'lower',
	},
	{
		bench: 'chat-completions',
		label:
			"Streamed answer: Chat Completions Trigger → Agent vs n8n's streaming Webhook without authentication → AI Agent, time to first token p50",
		measures: 'ours checks a key, theirs does not',
		unit: 'ms',
		ours: 'trigger.timeToFirstTokenMs.p50',
		theirs: 'n8nWebhook.timeToFirstTokenMs.p50',
		better: 'lower',
	},
	{
		bench: 'chat-completions',
		label: 'Streaming throughput: Chat Completions Trigger vs the model directly',
		other: 'the model server directly',
		measures: "what the trigger keeps of the model's token rate (content events per second, p50)",
		unit: 'events/s',
		ours: 'trigger.eventsPerSecond.p50',
		theirs: 'direct.eventsPerSecond.p50',
		better: 'higher',
	},
	{
		bench: 'queue-scaling',
		label: 'Flagship RAG flow: 2 workers vs 1 worker',
		other: 'OpenAgents, 1 worker',
		measures:
			"both sides are ours: how n8n's queue mode scales our flow, not a comparison with n8n",
		unit: 'executions/s',
		ours: 'flagship.twoWorkers.executionsPerSecond',
		theirs: 'flagship.oneWorker.executionsPerSecond',
		better: 'higher',
	},
	{
		bench: 'queue-scaling',
		label: 'Agent flow: 2 workers vs 1 worker',
		other: 'OpenAgents, 1 worker',
		measures:
			"both sides are ours: how n8n's queue mode scales our flow, not a comparison with n8n",
		unit: 'executions/s',
		ours: 'agent.twoWorkers.executionsPerSecond',
		theirs: 'agent.oneWorker.executionsPerSecond',
		better: 'higher',
	},
];

function comparisonTable(results: Record<string, Entry>): string[] {
	const rows = COMPARISONS.flatMap((c) => {
		const result = results[c.bench]?.result;
		if (!result) return [];
		const [ours, theirs] = [num(get(result, c.ours)), num(get(result, c.theirs))];
		if (!Number.isFinite(ours) || !Number.isFinite(theirs)) return [];
		const format = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 2 });
		const ratioText = theirs === 0 ? '—' : (ours / theirs).toFixed(2);
		const entry = results[c.bench];
		const stale = entry.stale ? ` (stale: figures of ${entry.at.slice(0, 10)})` : '';
		const measures = c.measures ? ` — ${c.measures}` : '';
		return [
			`| ${c.label}${stale}${measures} | ${format(ours)} ${c.unit} | ${c.other ?? "n8n's built-in"}: ${format(theirs)} ${c.unit} | ${ratioText} (${c.better} is better) | [${c.bench}](#${c.bench}) |`,
		];
	});
	if (!rows.length) return [];
	return [
		'## Side by side',
		'',
		'| comparison | OpenAgents | other side | ratio, ours ÷ other | section |',
		'|---|---|---|---|---|',
		...rows,
		'',
	];
}

function evalSection(evaluation: {
	at: string;
	machine: Entry['machine'];
	result: EvalResult;
}): string[] {
	const { result, machine: m } = evaluation;
	const { large } = result;
	return [
		'## Retrieval evaluation',
		'',
		`Command: \`npm run eval\` · measured ${evaluation.at} · ${m.cpus} × ${m.cpu ?? 'CPU'}, ${m.memoryGiB} GiB, Node ${m.node}`,
		'',
		`Questions written by reading the files of two sets (bench/eval/sets.ts): a, the READMEs of the installed npm packages; b, pages of The Cargo Book. Embeddings from the offline model server: word hashing (no semantics) and Universal Sentence Encoder Lite (semantic; set a as a subset for it); reranker: word overlap; top ${result.topK}. A question hits at k when a chunk of a file that answers it is among the first k; MRR is the mean of 1 / that rank (0 beyond ${result.topK}). Latency is one query without the embedding call.`,
		'',
		...evalTables(result),
		'',
		...(large
			? [
					`Keyword index of the ${large.chunks}-chunk knowledge base: built in ${large.keywordIndex.buildMs} ms on first use, ${large.keywordIndex.heapMiB} MiB of heap.`,
					'',
				]
			: []),
	];
}

export function renderReport(
	results: Record<string, Entry>,
	evaluation?: { at: string; machine: Entry['machine']; result: EvalResult },
): {
	markdown: string;
	charts: Record<string, string>;
} {
	const charts: Record<string, string> = {};
	const sections = Object.entries(results).map(([name, entry]) => {
		const figures = (CHARTS[name]?.(entry.result) ?? []).filter((c) => !c.svg.includes('NaN'));
		for (const chart of figures) charts[chart.file] = chart.svg;
		const m = entry.machine;
		return [
			`## ${name}`,
			'',
			`Command: \`BENCH_ONLY=${name} npm run bench\` · measured ${entry.at} · ${m.cpus} × ${m.cpu ?? 'CPU'}, ${m.memoryGiB} GiB, Node ${m.node}`,
			'',
			...(entry.stale
				? [
						`**Stale**: the run of ${entry.stale.failedAt} failed (${entry.stale.error.split('\n')[0].replace(/\|/g, '\\|')}); these are the figures of ${entry.at}.`,
						'',
					]
				: []),
			...figures.map((c) => `![${c.file}](${c.file})`),
			...(figures.length ? [''] : []),
			...figureTables(entry.result),
		].join('\n');
	});
	const markdown = [
		'# Benchmark report',
		'',
		'<!-- Generated by bench/report.ts from bench/results/latest.json; do not edit. -->',
		'',
		'Every figure below was measured by the command named in its section, on the machine named there. Benchmarks use',
		'real local servers wherever they involve one (n8n in queue mode, Chroma, Redis, Postgres) and the offline model',
		'server in place of an LLM. Comparisons run both variants alternately in one run.',
		'',
		...comparisonTable(results),
		...(evaluation ? evalSection(evaluation) : []),
		...sections,
	].join('\n');
	return { markdown, charts };
}

export function writeReport(dir = join(__dirname, 'results')): void {
	const { results } = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as {
		results: Record<string, Entry>;
	};
	const evalFile = join(dir, 'eval.json');
	const evaluation = existsSync(evalFile) ? JSON.parse(readFileSync(evalFile, 'utf8')) : undefined;
	const { markdown, charts } = renderReport(results, evaluation);
	mkdirSync(dir, { recursive: true });
	writeFileSync(join(dir, 'REPORT.md'), markdown);
	for (const [file, svg] of Object.entries(charts)) writeFileSync(join(dir, file), svg);
}

if (require.main === module) {
	writeReport();
	console.log('bench/results/REPORT.md written');
}
