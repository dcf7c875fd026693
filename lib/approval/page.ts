/**
 * The approval page served at the execution's resume URL: one form for every pending call (approve, approve with
 * edited arguments, or reject with a message), no scripts, posting back to the same URL. Light and dark themes.
 */
import { escapeHtml } from '../html';
import type { ApprovalRequest, PlanApproval, Refusal, ToolCallsApproval } from './request';

const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #f6f8fa; --panel: #fff; --line: #d1d9e0;
	--accent: #0969da; --bad: #cf222e; --good: #1a7f37; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #161b22;
	--line: #3d444d; --accent: #4493f8; --bad: #f85149; --good: #3fb950; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 760px; margin: 0 auto; padding: 24px 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 0 0 8px; }
.muted { color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 16px 0; }
.alert { border-color: var(--bad); } .alert strong { color: var(--bad); }
.done { border-color: var(--good); }
textarea { width: 100%; min-height: 120px; font: 13px/1.4 ui-monospace, monospace; color: var(--fg);
	background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
input[type=text] { width: 100%; padding: 6px 8px; color: var(--fg); background: var(--bg); border: 1px solid var(--line);
	border-radius: 6px; }
fieldset { border: 0; padding: 0; margin: 8px 0; display: flex; gap: 16px; flex-wrap: wrap; }
label { cursor: pointer; }
button { font: inherit; padding: 8px 20px; border-radius: 6px; border: 0; background: var(--accent); color: #fff;
	cursor: pointer; }
code { font: 13px ui-monospace, monospace; }
h2 code { font-size: 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.scroll { overflow-x: auto; }
blockquote { margin: 0; padding-left: 12px; border-left: 3px solid var(--line); white-space: pre-wrap; }
`;

const document = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;

interface ApprovalPageOptions {
	/** A refused earlier submission: shown above the form, the form keeps the reviewer's input. */
	refusal?: Refusal;
	/** The submitted form fields to show again after a refusal. */
	submitted?: Record<string, unknown>;
	/** Link to the execution in n8n's editor. */
	executionUrl?: string;
}

const radio = (name: string, chosen: string, value: string, label: string) =>
	`<label><input type="radio" name="${name}" value="${value}"${chosen === value ? ' checked' : ''}> ${label}</label>`;

function refusalPanel(refusal: Refusal | undefined): string {
	if (!refusal) return '';
	const issues = refusal.issues?.length
		? `<ul>${refusal.issues.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`
		: '';
	return `<section class="panel alert" role="alert"><strong>${escapeHtml(refusal.message)}</strong>${issues}</section>`;
}

function deadline(request: ApprovalRequest, executionUrl?: string): string {
	const until = request.expiresAt
		? ` Decide before <time datetime="${escapeHtml(request.expiresAt)}">${escapeHtml(request.expiresAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</time>, then the request is ${request.onTimeout === 'fail' ? 'failed' : 'rejected'}.`
		: '';
	const link = executionUrl
		? ` <a href="${escapeHtml(executionUrl)}" target="_blank" rel="noopener">Open the execution</a>.`
		: '';
	return until + link;
}

/** The form for `request`. */
export function approvalPage(request: ApprovalRequest, options: ApprovalPageOptions = {}): string {
	const body = request.kind === 'plan' ? planForm(request, options) : callsForm(request, options);
	return document('Approval needed', `<h1>Approval needed</h1>\n${body}`);
}

function callsForm(request: ToolCallsApproval, options: ApprovalPageOptions): string {
	const form = options.submitted ?? {};
	const calls = request.calls
		.map((call, i) => {
			const chosen = String(form[`decision_${i}`] ?? 'approve');
			const args =
				typeof form[`args_${i}`] === 'string'
					? String(form[`args_${i}`])
					: JSON.stringify(call.args, null, 2);
			const name = `decision_${i}`;
			return `<section class="panel" data-call="${escapeHtml(call.id)}">
<h2>${request.calls.length > 1 ? `${i + 1}. ` : ''}<code>${escapeHtml(call.name)}</code></h2>
${call.description ? `<p class="muted">${escapeHtml(call.description)}</p>` : ''}
<label for="args_${i}">Arguments (JSON; edit them and choose “Approve with my edits” to change the call)</label>
<textarea id="args_${i}" name="args_${i}" spellcheck="false">${escapeHtml(args)}</textarea>
<fieldset><legend class="muted">Decision</legend>${radio(name, chosen, 'approve', 'Approve')}${radio(name, chosen, 'edit', 'Approve with my edits')}${radio(name, chosen, 'reject', 'Reject')}</fieldset>
<label for="message_${i}">Message to the agent if rejected (optional)</label>
<input type="text" id="message_${i}" name="message_${i}" value="${escapeHtml(form[`message_${i}`] ?? '')}" maxlength="2000">
</section>`;
		})
		.join('\n');
	const count = request.calls.length === 1 ? 'a tool' : `${request.calls.length} tools`;
	return `<p class="muted">${escapeHtml(request.requestedBy)} wants to call ${count}; nothing runs until you decide.${deadline(request, options.executionUrl)}</p>
${request.reasoning ? `<section class="panel"><h2>The agent's reasoning</h2><blockquote>${escapeHtml(request.reasoning)}</blockquote></section>` : ''}
${refusalPanel(options.refusal)}
<form method="post" action="">
${calls}
<button type="submit">Submit decision</button>
</form>`;
}

function planForm(request: PlanApproval, options: ApprovalPageOptions): string {
	const form = options.submitted ?? {};
	const chosen = String(form.decision ?? 'approve');
	const planJson =
		typeof form.plan === 'string' ? String(form.plan) : JSON.stringify(request.plan, null, 2);
	const rows = request.plan.tasks
		.map(
			(task) =>
				`<tr data-task="${escapeHtml(task.id)}"><td><code>${escapeHtml(task.id)}</code></td><td>${escapeHtml(task.title)}</td><td>${escapeHtml(task.agent)}</td><td>${escapeHtml(task.dependsOn.join(', ') || '–')}</td></tr>`,
		)
		.join('');
	return `<p class="muted">${escapeHtml(request.requestedBy)} planned ${request.plan.tasks.length} tasks; none runs until you decide.${deadline(request, options.executionUrl)}</p>
<section class="panel"><h2>Goal</h2><blockquote>${escapeHtml(request.plan.goal)}</blockquote>
<div class="scroll"><table><thead><tr><th>Task</th><th>Title</th><th>Role</th><th>Depends on</th></tr></thead><tbody>${rows}</tbody></table></div></section>
${refusalPanel(options.refusal)}
<form method="post" action="">
<section class="panel">
<label for="plan">Plan (JSON: goal, tasks with id, title, description, agent, dependsOn; edit it and choose “Run my edited plan”)</label>
<textarea id="plan" name="plan" spellcheck="false" rows="16">${escapeHtml(planJson)}</textarea>
<fieldset><legend class="muted">Decision</legend>${radio('decision', chosen, 'approve', 'Run this plan')}${radio('decision', chosen, 'edit', 'Run my edited plan')}${radio('decision', chosen, 'reject', 'Do not run it')}</fieldset>
<label for="message">Message if rejected (optional)</label>
<input type="text" id="message" name="message" value="${escapeHtml(form.message ?? '')}" maxlength="2000">
</section>
<button type="submit">Submit decision</button>
</form>`;
}

/** A page with one message: the decision was recorded, or why this link cannot decide (`alert`). */
export function messagePage(title: string, message: string, alert = false): string {
	return document(
		title,
		`<h1>${escapeHtml(title)}</h1><section class="panel ${alert ? 'alert" role="alert' : 'done" role="status'}"><p>${escapeHtml(message)}</p></section>`,
	);
}
