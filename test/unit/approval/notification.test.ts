/** lib/approval/notification.ts: what is POSTed to a notification URL (Slack/Teams-ready text plus the fields). */
import { approvalNotification } from '../../../lib/approval';
import { APPROVAL_ID, planRequest, toolCallsRequest } from './fixtures';

const URL = 'https://n8n.example/webhook-waiting/7?signature=abc';

it('summarizes tool calls in one line with the link and deadline, and lists the calls without their schemas', () => {
	const notification = approvalNotification(
		toolCallsRequest({ expiresAt: '2026-03-01T12:30:00.000Z' }),
		URL,
		'https://n8n.example/workflow/1/executions/7',
	);
	expect(notification).toEqual({
		text: `Approval needed: Support Agent wants to call remember, search. Review it: ${URL} (before 2026-03-01T12:30:00.000Z)`,
		approvalId: APPROVAL_ID,
		kind: 'tool_calls',
		requestedBy: 'Support Agent',
		calls: [
			{ id: 'call_1', name: 'remember', args: { value: 'pro plan' } },
			{ id: 'call_2', name: 'search', args: { query: 'pricing' } },
		],
		reasoning: 'The user asked me to remember their plan.',
		expiresAt: '2026-03-01T12:30:00.000Z',
		approvalUrl: URL,
		executionUrl: 'https://n8n.example/workflow/1/executions/7',
	});
});

it('leaves out the deadline, reasoning and execution link when there are none', () => {
	const notification = approvalNotification(toolCallsRequest({ reasoning: undefined }), URL);
	expect(notification.text).toBe(
		`Approval needed: Support Agent wants to call remember, search. Review it: ${URL}`,
	);
	expect(Object.keys(notification).sort()).toEqual(
		['approvalId', 'approvalUrl', 'calls', 'kind', 'requestedBy', 'text'].sort(),
	);
});

it('summarizes a plan by its task count and goal, and carries the plan', () => {
	const request = planRequest();
	const notification = approvalNotification(request, URL);
	expect(notification).toEqual({
		text: `Approval needed: Research Planner wants to run a plan of 2 tasks for "Compare vector databases". Review it: ${URL}`,
		approvalId: APPROVAL_ID,
		kind: 'plan',
		requestedBy: 'Research Planner',
		plan: request.plan,
		approvalUrl: URL,
	});
});
