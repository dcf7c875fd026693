/** lib/approval/page.ts: the approval page shows every pending call or the plan, escapes what it shows, runs no script. */
import { approvalPage, messagePage } from '../../../lib/approval';
import { planRequest, toolCallsRequest } from './fixtures';

const INJECTED = '<script>alert("x")</script>';
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;';

/** The page's sections for pending calls, in order: the `data-call` attribute and the whole section. */
const callSections = (html: string) =>
	[...html.matchAll(/<section class="panel" data-call="([^"]*)">([\s\S]*?)<\/section>/g)].map(
		(m) => ({ id: m[1], html: m[2] }),
	);

describe('approvalPage for tool calls', () => {
	it('shows each pending call with its number, name, description and arguments, and one decision per call', () => {
		const html = approvalPage(toolCallsRequest());
		const sections = callSections(html);
		expect(sections.map((s) => s.id)).toEqual(['call_1', 'call_2']);
		expect(sections[0].html).toContain('<h2>1. <code>remember</code></h2>');
		expect(sections[0].html).toContain('<p class="muted">Stores a value</p>');
		expect(sections[0].html).toContain(
			'<textarea id="args_0" name="args_0" spellcheck="false">{\n  &quot;value&quot;: &quot;pro plan&quot;\n}</textarea>',
		);
		expect(sections[0].html).toContain(
			'<input type="radio" name="decision_0" value="approve" checked> Approve',
		);
		expect(sections[1].html).toContain('<h2>2. <code>search</code></h2>');
		expect(sections[1].html).not.toContain('class="muted">Stores');
		expect(sections[1].html).toContain('name="decision_1" value="reject"> Reject');
		expect(sections[1].html).toContain('name="message_1" value=""');
		expect(html).toContain('Support Agent wants to call 2 tools; nothing runs until you decide.');
		expect(html).toContain(
			"<h2>The agent's reasoning</h2><blockquote>The user asked me to remember their plan.</blockquote>",
		);
		expect(html).toContain('<form method="post" action="">');
		expect(html).not.toMatch(/<script/i);
	});

	it('says "a tool" and numbers nothing for a single call; no reasoning panel without reasoning', () => {
		const [first] = toolCallsRequest().calls;
		const html = approvalPage(toolCallsRequest({ calls: [first], reasoning: undefined }));
		expect(html).toContain('Support Agent wants to call a tool;');
		expect(html).toContain('<h2><code>remember</code></h2>');
		expect(html).not.toContain("The agent's reasoning");
	});

	it('escapes injected tool names, arguments, descriptions, reasoning, requester and call IDs', () => {
		const html = approvalPage(
			toolCallsRequest({
				requestedBy: INJECTED,
				reasoning: INJECTED,
				calls: [
					{
						id: `"><img src=x onerror=alert(1)>`,
						name: INJECTED,
						description: INJECTED,
						args: { html: '</textarea><script>alert(1)</script>' },
					},
				],
			}),
		);
		expect(html).not.toContain('<script>');
		expect(html).not.toContain('<img');
		expect(html).not.toContain('</textarea><script');
		expect(html).toContain(`<code>${ESCAPED}</code>`);
		expect(html).toContain(`<p class="muted">${ESCAPED}</p>`);
		expect(html).toContain(`<blockquote>${ESCAPED}</blockquote>`);
		expect(html).toContain(`<p class="muted">${ESCAPED} wants to call a tool;`);
		expect(html).toContain('data-call="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
		expect(html).toContain(
			'&quot;html&quot;: &quot;&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;',
		);
	});

	it('shows a refused submission above the form and keeps what the reviewer entered', () => {
		const html = approvalPage(toolCallsRequest(), {
			refusal: {
				status: 422,
				message: 'The decision was not accepted.',
				issues: ['remember (call 1): value: Expected string, received number', INJECTED],
			},
			submitted: {
				decision_0: 'edit',
				args_0: '{ "value": 5 }',
				decision_1: 'reject',
				message_1: 'Not "this" one',
			},
		});
		expect(html).toContain(
			`<section class="panel alert" role="alert"><strong>The decision was not accepted.</strong><ul><li>remember (call 1): value: Expected string, received number</li><li>${ESCAPED}</li></ul></section>`,
		);
		expect(html.indexOf('role="alert"')).toBeLessThan(html.indexOf('<form'));
		const [first, second] = callSections(html);
		expect(first.html).toContain('>{ &quot;value&quot;: 5 }</textarea>');
		expect(first.html).toContain('name="decision_0" value="edit" checked>');
		expect(first.html).not.toContain('value="approve" checked');
		expect(second.html).toContain('name="decision_1" value="reject" checked>');
		expect(second.html).toContain('value="Not &quot;this&quot; one"');
	});

	it('names the deadline, what happens then, and links the execution', () => {
		const html = approvalPage(toolCallsRequest({ expiresAt: '2026-03-01T12:30:00.000Z' }), {
			executionUrl: 'https://n8n.example/workflow/1/executions/7?a=1&b=2',
		});
		expect(html).toContain(
			'Decide before <time datetime="2026-03-01T12:30:00.000Z">2026-03-01 12:30:00 UTC</time>, then the request is rejected.',
		);
		expect(html).toContain(
			'<a href="https://n8n.example/workflow/1/executions/7?a=1&amp;b=2" target="_blank" rel="noopener">Open the execution</a>.',
		);
		expect(approvalPage(toolCallsRequest())).not.toContain('Decide before');
	});
});

describe('approvalPage for a plan', () => {
	it('shows the goal and one row per task, and the plan as editable JSON', () => {
		const html = approvalPage(planRequest({ expiresAt: '2026-03-01T12:30:00.000Z' }));
		expect(html).toContain(
			'Research Planner planned 2 tasks; none runs until you decide. Decide before',
		);
		expect(html).toContain('then the request is failed.');
		expect(html).toContain('<h2>Goal</h2><blockquote>Compare vector databases</blockquote>');
		const rows = [...html.matchAll(/<tr data-task="([^"]*)">(.*?)<\/tr>/g)].map((m) => [
			m[1],
			m[2],
		]);
		expect(rows).toEqual([
			[
				'research',
				'<td><code>research</code></td><td>Collect facts</td><td>researcher</td><td>–</td>',
			],
			[
				'write',
				'<td><code>write</code></td><td>Write the comparison</td><td>writer</td><td>research</td>',
			],
		]);
		expect(html).toContain(
			'<textarea id="plan" name="plan" spellcheck="false" rows="16">{\n  &quot;goal&quot;',
		);
		expect(html).toContain(
			'<input type="radio" name="decision" value="approve" checked> Run this plan',
		);
		expect(html).not.toMatch(/<script/i);
	});

	it('escapes an injected goal and task fields, and keeps a refused submission', () => {
		const base = planRequest();
		const html = approvalPage(
			planRequest({
				plan: {
					goal: INJECTED,
					tasks: [{ ...base.plan.tasks[0], title: INJECTED, agent: INJECTED }],
				},
			}),
			{
				refusal: {
					status: 422,
					message: 'Not accepted',
					issues: ['tasks: at most 3 tasks, got 4'],
				},
				submitted: { decision: 'edit', plan: '{"tasks": []}', message: '' },
			},
		);
		expect(html).not.toContain('<script>');
		expect(html).toContain(`<blockquote>${ESCAPED}</blockquote>`);
		expect(html).toContain(`<td>${ESCAPED}</td><td>${ESCAPED}</td>`);
		expect(html).toContain('<li>tasks: at most 3 tasks, got 4</li>');
		expect(html).toContain('rows="16">{&quot;tasks&quot;: []}</textarea>');
		expect(html).toContain('name="decision" value="edit" checked> Run my edited plan');
	});
});

describe('messagePage', () => {
	it('shows one escaped message, as a status or as an alert', () => {
		expect(messagePage('Decision recorded', 'The agent goes on.')).toContain(
			'<h1>Decision recorded</h1><section class="panel done" role="status"><p>The agent goes on.</p></section>',
		);
		const alert = messagePage('<b>Expired</b>', INJECTED, true);
		expect(alert).toContain('<title>&lt;b&gt;Expired&lt;/b&gt;</title>');
		expect(alert).toContain(
			`<section class="panel alert" role="alert"><p>${ESCAPED}</p></section>`,
		);
		expect(alert).not.toContain('<script>');
	});
});
