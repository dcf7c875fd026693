/**
 * The agent-ops dashboard: one self-contained HTML page (no request leaves it; Chart.js 4 is inlined) with KPI cards,
 * charts over time, failures with links into n8n's editor, the live queue and workers, filters and CSV/JSON export.
 * Numbers and tables are rendered here on the server, so they read the same with scripts off; charts are drawn in the
 * browser from the same data. A panel whose source failed shows that failure in its place; the rest still renders.
 *
 * Chart.js rather than uPlot or ECharts: its UMD build is one 205 kB file with stacked bars, lines, two axes, tooltips,
 * legends and responsive resizing built in (uPlot needs plugins for stacked bars; ECharts is about 1 MB).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { Analytics } from './analytics';
import type { IndexCoverage } from './execution-index';
import type { ExecutionStatus } from './job';
import type { QueueStats } from './queue';
import type { WorkerStatus } from './workers';
import { escapeHtml } from '../html';

export interface DashboardInput {
	title: string;
	/** The window shown: ISO times and the range key the filter form had selected ('1h', '24h', … or 'custom'). */
	window: { from: string; to: string; range: string };
	/** The workflow filter ('' = all). */
	workflowId: string;
	/** For the workflow filter and labels: ID → name. */
	workflows: ReadonlyArray<{ id: string; name: string }>;
	/** n8n's own URL (editor links to executions). */
	n8nUrl: string;
	/** Execution ID → workflow ID, for links to failed executions. */
	executionWorkflows?: Readonly<Record<string, string>>;
	currency: string;
	/** Each panel's data, or the reason it is missing (shown in the panel's place). */
	analytics: { data: Analytics; coverage: IndexCoverage } | { error: string };
	queue: { data: QueueStats } | { error: string };
	workers: { data: WorkerStatus[] } | { error: string };
	/** A message above the panels, e.g. an unknown workflow. */
	notice?: string;
	/** How the figures were obtained: computed for this view, served as stored, or another viewer's (footer). */
	source?: 'cache' | 'refreshed' | 'shared';
	generatedAt: string;
}

/** The ranges the filter offers: key → ms. */
export const DASHBOARD_RANGES: Record<string, { label: string; ms: number }> = {
	'15m': { label: 'Last 15 minutes', ms: 15 * 60_000 },
	'1h': { label: 'Last hour', ms: 3600_000 },
	'6h': { label: 'Last 6 hours', ms: 6 * 3600_000 },
	'24h': { label: 'Last 24 hours', ms: 24 * 3600_000 },
	'7d': { label: 'Last 7 days', ms: 7 * 24 * 3600_000 },
	'30d': { label: 'Last 30 days', ms: 30 * 24 * 3600_000 },
};

const STATUS_COLORS: Record<ExecutionStatus, string> = {
	success: '#2e9e5b',
	error: '#d64545',
	crashed: '#8f1d1d',
	canceled: '#8a8f98',
	running: '#3a7bd5',
	waiting: '#d99a1e',
	new: '#b7bcc5',
	unknown: '#6d6d6d',
};

let chartJs: string | undefined;
/** Chart.js' UMD build from the package's dependency, read once per process. */
function chartLibrary(): string {
	chartJs ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
	return chartJs;
}

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown) =>
	JSON.stringify(value)
		.replace(/</g, '\\u003c')
		.replace(/\u2028|\u2029/g, '');

export function formatDuration(ms: number | null): string {
	if (ms === null) return '–';
	if (ms < 1000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
	return `${(ms / 60_000).toFixed(1)} min`;
}

export function formatCost(value: number, currency: string): string {
	try {
		return new Intl.NumberFormat('en', {
			style: 'currency',
			currency,
			maximumFractionDigits: value < 1 ? 4 : 2,
		}).format(value);
	} catch {
		return `${value.toFixed(4)} ${currency}`;
	}
}

const integer = (n: number) => new Intl.NumberFormat('en').format(n);

/** The complete HTML page (UTF-8). */
export function dashboardHtml(input: DashboardInput): string {
	const names = new Map(input.workflows.map((w) => [w.id, w.name]));
	const nameOf = (id: string) => names.get(id) ?? `Workflow ${id}`;
	const analytics = 'data' in input.analytics ? input.analytics.data : undefined;
	const workflowRows = (analytics?.workflows ?? []).map((w) => ({
		workflow: nameOf(w.workflowId),
		workflowId: w.workflowId,
		executions: w.executions,
		success: w.success,
		failed: w.failed,
		durationP95Ms: w.durationP95,
		modelCalls: w.modelCalls,
		totalTokens: w.totalTokens,
		cost: w.cost,
	}));
	const clientData = {
		currency: input.currency,
		window: input.window,
		workflowId: input.workflowId || null,
		statusColors: STATUS_COLORS,
		workflowNames: Object.fromEntries(names),
		analytics: analytics ?? null,
		coverage: 'data' in input.analytics ? input.analytics.coverage : null,
		workflows: workflowRows,
		queue: 'data' in input.queue ? input.queue.data : null,
		workers: 'data' in input.workers ? input.workers.data : null,
		generatedAt: input.generatedAt,
	};

	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(input.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
	<h1>${escapeHtml(input.title)}</h1>
	${filterForm(input)}
</header>
<main>
${input.notice ? `<p class="notice" role="status" data-panel="notice">${escapeHtml(input.notice)}</p>` : ''}
${analyticsPanels(input, nameOf)}
<section class="row">
	${queuePanel(input)}
	${workersPanel(input)}
</section>
<section class="panel" data-panel="export">
	<h2>Export</h2>
	<p class="muted">What this page shows: the workflow table as CSV, every figure as JSON.</p>
	<button type="button" id="export-csv">Download CSV</button>
	<button type="button" id="export-json">Download JSON</button>
</section>
</main>
<footer class="muted">Generated ${escapeHtml(input.generatedAt)} by OpenAgents Job Monitor ·
${coverageLine(input)}</footer>
<script type="application/json" id="dashboard-data">${scriptJson(clientData)}</script>
<script>${chartLibrary()}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>`;
}

function filterForm(input: DashboardInput): string {
	const ranges = Object.entries(DASHBOARD_RANGES)
		.map(
			([key, { label }]) =>
				`<option value="${key}"${key === input.window.range ? ' selected' : ''}>${label}</option>`,
		)
		.join('');
	const custom = input.window.range === 'custom';
	const workflows = [{ id: '', name: 'All workflows' }, ...input.workflows]
		.map(
			(w) =>
				`<option value="${escapeHtml(w.id)}"${w.id === input.workflowId ? ' selected' : ''}>${escapeHtml(w.name)}</option>`,
		)
		.join('');
	const local = (iso: string) => iso.slice(0, 16);
	return `<form method="get" class="filters" id="filters">
	<label>Range <select name="range" id="range">${ranges}<option value="custom"${custom ? ' selected' : ''}>Custom…</option></select></label>
	<label class="custom">From (UTC) <input type="datetime-local" name="from" value="${custom ? local(input.window.from) : ''}"></label>
	<label class="custom">To (UTC) <input type="datetime-local" name="to" value="${custom ? local(input.window.to) : ''}"></label>
	<label>Workflow <select name="workflow" id="workflow">${workflows}</select></label>
	<button type="submit">Apply</button>
</form>`;
}

function analyticsPanels(input: DashboardInput, nameOf: (id: string) => string): string {
	if ('error' in input.analytics)
		return `<section class="panel error" data-panel="analytics" role="alert"><h2>Executions</h2><p>${escapeHtml(input.analytics.error)}</p></section>`;
	const { stats, usage } = input.analytics.data;
	const kpi = (key: string, label: string, value: string, note = '') =>
		`<div class="kpi" data-kpi="${key}"><span class="label">${label}</span><span class="value">${value}</span>${note ? `<span class="note">${note}</span>` : ''}</div>`;
	const failed = stats.byStatus.error + stats.byStatus.crashed;
	const empty =
		stats.total === 0
			? `<p class="notice" data-panel="empty">No executions started in this window${input.workflowId ? ' for this workflow' : ''}.</p>`
			: '';
	const failures = stats.failures.length
		? `<table><thead><tr><th>Node</th><th>Error</th><th class="num">Count</th><th>Executions</th></tr></thead><tbody>${stats.failures
				.slice(0, 20)
				.map(
					(f) =>
						`<tr><td>${escapeHtml(f.node ?? '–')}</td><td class="message">${escapeHtml(f.message)}</td><td class="num">${f.count}</td><td>${f.executionIds
							.slice(0, 5)
							.map((id) => executionLink(input, id))
							.join(' ')}</td></tr>`,
				)
				.join('')}</tbody></table>`
		: `<p class="muted">No failed executions in this window.</p>`;
	const rows = input.analytics.data.workflows;
	const workflowTable = rows.length
		? `<table id="workflow-table"><thead><tr><th>Workflow</th><th class="num">Executions</th><th class="num">Success</th><th class="num">Failed</th><th class="num">p95</th><th class="num">Model calls</th><th class="num">Tokens</th><th class="num">Cost</th></tr></thead><tbody>${rows
				.map(
					(w) =>
						`<tr data-workflow-id="${escapeHtml(w.workflowId)}"><td>${escapeHtml(nameOf(w.workflowId))}</td><td class="num">${integer(w.executions)}</td><td class="num">${integer(w.success)}</td><td class="num">${integer(w.failed)}</td><td class="num">${formatDuration(w.durationP95)}</td><td class="num">${integer(w.modelCalls)}</td><td class="num">${integer(w.totalTokens)}</td><td class="num">${formatCost(w.cost, input.currency)}</td></tr>`,
				)
				.join('')}</tbody></table>`
		: `<p class="muted">No executions.</p>`;
	return `${empty}<section class="kpis" data-panel="kpis">
	${kpi('executions', 'Executions', integer(stats.total), `${integer(stats.ended)} ended`)}
	${kpi('successRate', 'Success rate', stats.successRate === null ? '–' : `${(stats.successRate * 100).toFixed(1)} %`, `${integer(failed)} failed`)}
	${kpi('durationP50', 'Duration p50', formatDuration(stats.durationMs.p50))}
	${kpi('durationP95', 'Duration p95', formatDuration(stats.durationMs.p95))}
	${kpi('modelCalls', 'Model calls', integer(usage.modelCalls), `${integer(usage.executions)} agent executions`)}
	${kpi('totalTokens', 'Tokens', integer(usage.totalTokens), `${integer(usage.promptTokens)} in · ${integer(usage.completionTokens)} out`)}
	${kpi('cost', 'Cost', formatCost(usage.cost, input.currency), `${integer(usage.toolErrors)} tool errors · ${integer(usage.retries)} retries`)}
</section>
<section class="charts" data-panel="charts">
	<figure class="panel"><h2>Executions by status</h2><div class="chart"><canvas id="chart-status" aria-label="Executions by status per interval"></canvas></div></figure>
	<figure class="panel"><h2>Duration p50 / p95</h2><div class="chart"><canvas id="chart-duration" aria-label="Duration percentiles per interval"></canvas></div></figure>
	<figure class="panel"><h2>Tokens per workflow</h2><div class="chart"><canvas id="chart-tokens" aria-label="Tokens per workflow per interval"></canvas></div></figure>
	<figure class="panel"><h2>Cost per workflow</h2><div class="chart"><canvas id="chart-cost" aria-label="Cost per workflow per interval"></canvas></div></figure>
</section>
<section class="panel" data-panel="failures"><h2>Failures by node and error</h2>${failures}</section>
<section class="panel" data-panel="workflows"><h2>Workflows</h2>${workflowTable}</section>`;
}

function executionLink(
	input: DashboardInput,
	executionId: string,
	workflowId?: string | null,
): string {
	const wf = workflowId ?? input.executionWorkflows?.[executionId];
	const href = wf
		? `${input.n8nUrl}/workflow/${encodeURIComponent(wf)}/executions/${encodeURIComponent(executionId)}`
		: `${input.n8nUrl}/home/executions`;
	return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener" data-execution="${escapeHtml(executionId)}">#${escapeHtml(executionId)}</a>`;
}

function queuePanel(input: DashboardInput): string {
	if ('error' in input.queue)
		return `<section class="panel error" data-panel="queue" role="alert"><h2>Queue</h2><p>${escapeHtml(input.queue.error)}</p></section>`;
	const q = input.queue.data;
	const active = (q.activeJobs ?? [])
		.slice(0, 20)
		.map(
			(job) =>
				`<li>${executionLink(input, job.executionId, job.workflowId)} <span class="muted">workflow ${escapeHtml(job.workflowId ?? '?')}</span></li>`,
		)
		.join('');
	const count = (key: string, label: string, value: number | undefined) =>
		`<div class="kpi small" data-queue="${key}"><span class="label">${label}</span><span class="value">${value ?? '–'}</span></div>`;
	return `<section class="panel" data-panel="queue"><h2>Queue <span class="muted">(live, ${escapeHtml(q.source)})</span></h2>
	<div class="kpis">${count('waiting', 'Waiting', q.waiting)}${count('active', 'Active', q.active)}${count('delayed', 'Delayed', q.delayed)}${count('failed', 'Failed', q.failed)}</div>
	${active ? `<h3>Active executions</h3><ul class="plain">${active}</ul>` : '<p class="muted">No active jobs.</p>'}
</section>`;
}

function workersPanel(input: DashboardInput): string {
	if ('error' in input.workers)
		return `<section class="panel error" data-panel="workers" role="alert"><h2>Workers</h2><p>${escapeHtml(input.workers.error)}</p></section>`;
	const rows = input.workers.data
		.map(
			(w) =>
				`<tr data-worker="${escapeHtml(w.id)}"><td>${escapeHtml(w.hostname ?? w.hostId)}<br><span class="muted">${escapeHtml(w.hostId)}${w.startedAt ? `, started ${escapeHtml(w.startedAt)}` : ''}</span></td><td>${w.answered ? '<span class="ok">answering</span>' : `<span class="warn">last seen ${escapeHtml(w.lastSeen)}</span>`}</td><td class="num">${w.running.length}</td><td class="num">${w.memoryRssBytes === null ? '–' : `${Math.round(w.memoryRssBytes / 1048576)} MB`}</td><td class="num">${w.uptimeSeconds === null ? '–' : `${Math.round(w.uptimeSeconds / 60)} min`}</td></tr>`,
		)
		.join('');
	return `<section class="panel" data-panel="workers"><h2>Workers <span class="muted">(seen in the last 10 minutes)</span></h2>
	${rows ? `<table><thead><tr><th>Worker</th><th>State</th><th class="num">Running</th><th class="num">Memory</th><th class="num">Uptime</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">No worker answered (is n8n in queue mode?).</p>'}
</section>`;
}

function coverageLine(input: DashboardInput): string {
	if (!('data' in input.analytics)) return '';
	const c = input.analytics.coverage;
	return `<span data-coverage>${integer(input.analytics.data.stats.total)} executions in ${escapeHtml(input.window.from)} – ${escapeHtml(input.window.to)}; index of ${integer(c.executions)} since ${escapeHtml(c.from)}${c.truncated ? ' (truncated: raise Max Executions)' : ''}, ${input.source ?? c.source}</span>`;
}

const STYLE = `
:root{--bg:#f6f7f9;--panel:#fff;--text:#1d2127;--muted:#69707d;--border:#e0e3e8;--accent:#ea4b71;--grid:rgba(0,0,0,.08)}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--panel:#1f2228;--text:#e6e8eb;--muted:#9aa1ad;--border:#323741;--accent:#ff6d8d;--grid:rgba(255,255,255,.1)}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
header{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:space-between;padding:16px 20px;border-bottom:1px solid var(--border);background:var(--panel)}
h1{font-size:20px;margin:0}h2{font-size:15px;margin:0 0 10px}h3{font-size:13px;margin:12px 0 6px}
main{padding:16px 20px;display:flex;flex-direction:column;gap:16px;max-width:1600px;margin:0 auto}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;min-width:0;max-width:100%}.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:2px;min-width:0;max-width:100%}
.filters select,.filters input{max-width:min(340px,calc(100vw - 40px))}
select,input,button{font:inherit;color:var(--text);background:var(--panel);border:1px solid var(--border);border-radius:6px;padding:6px 8px}
button{cursor:pointer;background:var(--accent);border-color:var(--accent);color:#fff}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px}
.kpi{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:12px;display:flex;flex-direction:column;gap:2px}
.kpi .label{color:var(--muted);font-size:12px}.kpi .value{font-size:22px;font-weight:600}.kpi .note{color:var(--muted);font-size:12px}
.kpi.small .value{font-size:18px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(460px,100%),1fr));gap:16px}
.panel{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:14px;margin:0;min-width:0;overflow-x:auto}
.chart{position:relative;height:260px}
.row{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(460px,100%),1fr));gap:16px}
table{width:100%;border-collapse:collapse;font-size:13px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--border);vertical-align:top}
th{color:var(--muted);font-weight:500}.num{text-align:right;font-variant-numeric:tabular-nums}td.message{max-width:420px;overflow-wrap:anywhere}
a{color:var(--accent)}.muted{color:var(--muted)}.ok{color:#2e9e5b}.warn{color:#d99a1e}
.notice{background:var(--panel);border:1px solid var(--border);border-left:4px solid #d99a1e;border-radius:6px;padding:10px 12px;margin:0}
.error{border-left:4px solid #d64545}ul.plain{list-style:none;padding:0;margin:0}
footer{padding:12px 20px 24px;font-size:12px;text-align:center}
@media (max-width:600px){header,main{padding:12px}.kpi .value{font-size:18px}.chart{height:220px}}
`;

/** Runs in the page: draws the charts, shows the custom-range fields, exports. Plain ES2017, no template literals. */
const CLIENT_SCRIPT = `
(function(){
var data=JSON.parse(document.getElementById('dashboard-data').textContent);
var css=getComputedStyle(document.documentElement);
var text=css.getPropertyValue('--text').trim(),grid=css.getPropertyValue('--grid').trim();
var range=document.getElementById('range');
function toggleCustom(){var show=range.value==='custom';document.querySelectorAll('.custom').forEach(function(el){el.style.display=show?'':'none';});}
range.addEventListener('change',toggleCustom);toggleCustom();
function download(name,type,body){var url=URL.createObjectURL(new Blob([body],{type:type}));var a=document.createElement('a');a.href=url;a.download=name;document.body.appendChild(a);a.click();a.remove();setTimeout(function(){URL.revokeObjectURL(url);},1000);}
function csvCell(v){var s=v===null||v===undefined?'':String(v);return /[",\\n]/.test(s)?'"'+s.replace(/"/g,'""')+'"':s;}
var stamp=data.generatedAt.replace(/[:.]/g,'-');
document.getElementById('export-csv').addEventListener('click',function(){
var cols=['workflow','workflowId','executions','success','failed','durationP95Ms','modelCalls','totalTokens','cost'];
var lines=[cols.join(',')].concat(data.workflows.map(function(r){return cols.map(function(c){return csvCell(r[c]);}).join(',');}));
download('openagents-dashboard-'+stamp+'.csv','text/csv',lines.join('\\n')+'\\n');});
document.getElementById('export-json').addEventListener('click',function(){download('openagents-dashboard-'+stamp+'.json','application/json',JSON.stringify(data,null,2));});
if(!data.analytics||typeof Chart==='undefined')return;
Chart.defaults.color=text;Chart.defaults.borderColor=grid;Chart.defaults.animation=false;Chart.defaults.maintainAspectRatio=false;
var series=data.analytics.series;
var span=Date.parse(data.window.to)-Date.parse(data.window.from);
var labels=series.map(function(b){var d=new Date(b.start);return span>2*86400000?d.toLocaleDateString([], {month:'short',day:'numeric'})+' '+d.toLocaleTimeString([], {hour:'2-digit',minute:'2-digit'}):d.toLocaleTimeString([], {hour:'2-digit',minute:'2-digit'});});
var statuses=['success','error','crashed','canceled','waiting','running','new'];
new Chart(document.getElementById('chart-status'),{type:'bar',data:{labels:labels,datasets:statuses.filter(function(s){return series.some(function(b){return b.byStatus[s]>0;});}).map(function(s){return {label:s,data:series.map(function(b){return b.byStatus[s];}),backgroundColor:data.statusColors[s],stack:'s'};})},options:{scales:{x:{stacked:true},y:{stacked:true,beginAtZero:true,ticks:{precision:0}}}}});
function seconds(v){return v===null?null:v/1000;}
new Chart(document.getElementById('chart-duration'),{type:'line',data:{labels:labels,datasets:[{label:'p50',data:series.map(function(b){return seconds(b.durationP50);}),borderColor:'#3a7bd5',backgroundColor:'#3a7bd5',spanGaps:true},{label:'p95',data:series.map(function(b){return seconds(b.durationP95);}),borderColor:'#ea4b71',backgroundColor:'#ea4b71',spanGaps:true}]},options:{scales:{y:{beginAtZero:true,title:{display:true,text:'seconds'}}}}});
var palette=['#3a7bd5','#ea4b71','#2e9e5b','#d99a1e','#8e5ad6','#17a2b8','#8a8f98'];
var top=data.workflows.filter(function(w){return w.totalTokens>0||w.cost>0;}).slice(0,6).map(function(w){return w.workflowId;});
function perWorkflow(id,key,title){var sets=top.map(function(wf,i){return {label:data.workflowNames[wf]||('Workflow '+wf),data:series.map(function(b){return b[key][wf]||0;}),backgroundColor:palette[i%palette.length],stack:'w'};});
var others=series.map(function(b){var sum=0;Object.keys(b[key]).forEach(function(wf){if(top.indexOf(wf)<0)sum+=b[key][wf];});return sum;});
if(others.some(function(v){return v>0;}))sets.push({label:'Other workflows',data:others,backgroundColor:'#b7bcc5',stack:'w'});
new Chart(document.getElementById(id),{type:'bar',data:{labels:labels,datasets:sets},options:{scales:{x:{stacked:true},y:{stacked:true,beginAtZero:true,title:{display:true,text:title}}}}});}
perWorkflow('chart-tokens','tokensByWorkflow','tokens');
perWorkflow('chart-cost','costByWorkflow',data.currency);
})();
`;
