/** lib/approval/request.ts: approval IDs, whether a request can still be decided, and the checks on a decision. */
import {
	checkDecidable,
	newApprovalId,
	parseDecision,
	type ApprovalDecision,
	type Refusal,
} from '../../../lib/approval';
import { APPROVAL_ID, planRequest, toolCallsRequest } from './fixtures';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const NOT_ACCEPTED =
	'The decision was not accepted; nothing has run. Correct it and send it again.';

/** The decision parseDecision accepted; fails the test with the refusal otherwise. */
function accepted(result: { decision: ApprovalDecision } | Refusal): ApprovalDecision {
	if (!('decision' in result)) throw new Error(`refused: ${JSON.stringify(result)}`);
	return result.decision;
}

/** The refusal parseDecision returned; fails the test when it accepted the decision. */
function refused(result: { decision: ApprovalDecision } | Refusal): Refusal {
	if ('decision' in result) throw new Error(`accepted: ${JSON.stringify(result)}`);
	return result;
}

describe('newApprovalId', () => {
	it('is 128 random bits in URL-safe base64, new on every call', () => {
		const ids = Array.from({ length: 50 }, newApprovalId);
		for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
		expect(Buffer.from(ids[0], 'base64url')).toHaveLength(16);
		expect(new Set(ids).size).toBe(50);
	});
});

describe('checkDecidable', () => {
	const expiring = toolCallsRequest({ expiresAt: '2026-03-01T12:00:00.000Z' });

	it('lets the current ID decide before the deadline, or at any time without one', () => {
		expect(checkDecidable(expiring, APPROVAL_ID, new Date('2026-03-01T11:59:59.999Z'))).toBe(
			undefined,
		);
		expect(checkDecidable(toolCallsRequest(), APPROVAL_ID, new Date('2099-01-01T00:00:00Z'))).toBe(
			undefined,
		);
	});

	it('refuses another, altered or missing ID with 403, before looking at the deadline', () => {
		const wrongId = {
			status: 403,
			message:
				'This approval link is not valid: it is for an earlier request or was altered. Open the latest approval link.',
		};
		expect(checkDecidable(expiring, `${APPROVAL_ID}x`, NOW)).toEqual(wrongId);
		expect(checkDecidable(expiring, APPROVAL_ID.slice(0, -1), NOW)).toEqual(wrongId);
		expect(checkDecidable(expiring, undefined, NOW)).toEqual(wrongId);
		expect(checkDecidable(expiring, [APPROVAL_ID], NOW)).toEqual(wrongId);
	});

	it('refuses with 410 from the deadline on', () => {
		const expired = {
			status: 410,
			message:
				'This approval request timed out at 2026-03-01T12:00:00.000Z; it can no longer be decided.',
		};
		expect(checkDecidable(expiring, APPROVAL_ID, NOW)).toEqual(expired);
		expect(checkDecidable(expiring, APPROVAL_ID, new Date('2026-03-02T00:00:00Z'))).toEqual(
			expired,
		);
	});
});

describe('parseDecision for tool calls', () => {
	const request = toolCallsRequest();

	it('takes a JSON body: one decision per pending call, in the order of the calls, stamped with ID and time', () => {
		const decision = accepted(
			parseDecision(
				request,
				{
					decisions: [
						{ id: 'call_2', action: 'reject', message: '  Not now.  ' },
						{ id: 'call_1', action: 'edit', args: { value: 'basic plan', ttl: 60 } },
					],
				},
				NOW,
			),
		);
		expect(decision).toEqual({
			approvalId: APPROVAL_ID,
			decidedAt: '2026-03-01T12:00:00.000Z',
			decisions: [
				{ id: 'call_1', action: 'edit', args: { value: 'basic plan', ttl: 60 } },
				{ id: 'call_2', action: 'reject', message: 'Not now.' },
			],
		});
	});

	it('drops a blank rejection message and ignores arguments sent with an approval', () => {
		const decision = accepted(
			parseDecision(request, {
				decisions: [
					{ id: 'call_1', action: 'approve', args: { value: 42 } },
					{ id: 'call_2', action: 'reject', message: '   ' },
				],
			}),
		);
		expect(decision.decisions).toEqual([
			{ id: 'call_1', action: 'approve' },
			{ id: 'call_2', action: 'reject' },
		]);
	});

	it("takes the approval page's form fields: decision_<i>, args_<i> as JSON text, message_<i>", () => {
		const decision = accepted(
			parseDecision(
				request,
				{
					decision_0: 'edit',
					args_0: '{ "value": "edited" }',
					message_0: '',
					decision_1: 'reject',
					args_1: 'not JSON, and not read: the call is rejected',
					message_1: ' Use the docs instead. ',
				},
				NOW,
			),
		);
		expect(decision).toEqual({
			approvalId: APPROVAL_ID,
			decidedAt: '2026-03-01T12:00:00.000Z',
			decisions: [
				{ id: 'call_1', action: 'edit', args: { value: 'edited' } },
				{ id: 'call_2', action: 'reject', message: 'Use the docs instead.' },
			],
		});
	});

	it('accepts any object as the edited arguments of a call whose tool has no schema', () => {
		const decision = accepted(
			parseDecision(request, {
				decision_0: 'approve',
				decision_1: 'edit',
				args_1: '{ "query": 7, "extra": true }',
			}),
		);
		expect(decision.decisions?.[1]).toEqual({
			id: 'call_2',
			action: 'edit',
			args: { query: 7, extra: true },
		});
	});

	it.each([
		['no body', undefined, ['body: Required']],
		['no decisions', { decisions: [] }, ['decisions: Array must contain at least 1 element(s)']],
		[
			'an unknown action',
			{ decisions: [{ id: 'call_1', action: 'maybe' }] },
			[
				"decisions.0.action: Invalid enum value. Expected 'approve' | 'edit' | 'reject', received 'maybe'",
			],
		],
		[
			'a decision without a call ID',
			{ decisions: [{ action: 'approve' }] },
			['decisions.0.id: Required'],
		],
		[
			'a message over 2000 characters',
			{ decisions: [{ id: 'call_1', action: 'reject', message: 'x'.repeat(2001) }] },
			['decisions.0.message: String must contain at most 2000 character(s)'],
		],
	])('refuses a malformed body with 400: %s', (_, body, issues) => {
		expect(parseDecision(request, body)).toEqual({
			status: 400,
			message:
				'The decision is malformed: send { "decisions": [{ "id": "<tool call id>", "action": "approve" | "edit" | "reject", "args"?: {…}, "message"?: "…" }] }',
			issues,
		});
	});

	it('refuses with 422 a decision on a call that is not pending, and lists the calls left undecided', () => {
		expect(
			parseDecision(request, {
				decisions: [
					{ id: 'call_9', action: 'approve' },
					{ id: 'call_2', action: 'approve' },
				],
			}),
		).toEqual({
			status: 422,
			message: NOT_ACCEPTED,
			issues: ['There is no pending tool call "call_9".', 'remember (call 1): no decision.'],
		});
	});

	it('refuses with 422 edited arguments that are not JSON or not an object', () => {
		const notJson = refused(
			parseDecision(request, {
				decision_0: 'edit',
				args_0: '{ value: oops',
				decision_1: 'edit',
				args_1: '["a", "b"]',
			}),
		);
		expect(notJson.status).toBe(422);
		expect(notJson.message).toBe(NOT_ACCEPTED);
		expect(notJson.issues).toHaveLength(2);
		expect(notJson.issues?.[0]).toMatch(
			/^remember \(call 1\): the arguments are not valid JSON \(.+\)\.$/,
		);
		expect(notJson.issues?.[1]).toBe('search (call 2): the arguments must be a JSON object.');
	});

	it("refuses with 422 edited arguments that break the tool's schema, every problem listed", () => {
		expect(
			parseDecision(request, {
				decisions: [
					{ id: 'call_1', action: 'edit', args: { ttl: 'soon' } },
					{ id: 'call_2', action: 'approve' },
				],
			}),
		).toEqual({
			status: 422,
			message: NOT_ACCEPTED,
			issues: [
				'remember (call 1): value: Required',
				'remember (call 1): ttl: Expected number, received string',
			],
		});
		expect(
			refused(
				parseDecision(request, {
					decisions: [
						{ id: 'call_1', action: 'edit', args: { value: 5 } },
						{ id: 'call_2', action: 'approve' },
					],
				}),
			).issues,
		).toEqual(['remember (call 1): value: Expected string, received number']);
	});
});

describe('parseDecision for a plan', () => {
	const request = planRequest();
	const editedTasks = [
		{ id: 'a', title: 'Collect', agent: 'researcher' },
		{ id: 'b', title: 'Write', agent: 'writer', dependsOn: ['a'] },
	];

	it('takes approve and reject as JSON, a rejection with its trimmed message', () => {
		expect(parseDecision(request, { action: 'approve' }, NOW)).toEqual({
			decision: {
				approvalId: APPROVAL_ID,
				decidedAt: '2026-03-01T12:00:00.000Z',
				plan: { action: 'approve' },
			},
		});
		expect(
			accepted(parseDecision(request, { action: 'reject', message: ' Too broad ' })).plan,
		).toEqual({ action: 'reject', message: 'Too broad' });
		expect(accepted(parseDecision(request, { action: 'reject', message: '' })).plan).toEqual({
			action: 'reject',
		});
	});

	it('takes an edited plan as JSON, with the defaults of the plan format filled in', () => {
		const plan = accepted(
			parseDecision(request, {
				action: 'edit',
				plan: { goal: ' Compare two databases ', tasks: editedTasks },
			}),
		).plan;
		expect(plan).toEqual({
			action: 'edit',
			plan: {
				goal: 'Compare two databases',
				tasks: [
					{ id: 'a', title: 'Collect', description: '', agent: 'researcher', dependsOn: [] },
					{ id: 'b', title: 'Write', description: '', agent: 'writer', dependsOn: ['a'] },
				],
			},
		});
	});

	it("takes the page's form fields (decision, plan as JSON text, message); an edit without a goal keeps the goal", () => {
		const plan = accepted(
			parseDecision(request, {
				decision: 'edit',
				plan: JSON.stringify({ tasks: editedTasks }),
				message: '',
			}),
		).plan;
		expect(plan).toEqual({
			action: 'edit',
			plan: { goal: 'Compare vector databases', tasks: expect.any(Array) },
		});
		expect(
			accepted(parseDecision(request, { decision: 'approve', plan: 'ignored', message: '' })).plan,
		).toEqual({ action: 'approve' });
		expect(
			accepted(parseDecision(request, { decision: 'reject', plan: '{}', message: ' No. ' })).plan,
		).toEqual({ action: 'reject', message: 'No.' });
	});

	it('refuses a malformed body with 400', () => {
		expect(parseDecision(request, { action: 'run' })).toEqual({
			status: 400,
			message:
				'The decision is malformed: send { "action": "approve" | "edit" | "reject", "plan"?: {…}, "message"?: "…" }',
			issues: [
				"action: Invalid enum value. Expected 'approve' | 'edit' | 'reject', received 'run'",
			],
		});
		expect(refused(parseDecision(request, 'approve')).status).toBe(400);
		expect(refused(parseDecision(request, { decision: 'later' })).issues).toEqual([
			"action: Invalid enum value. Expected 'approve' | 'edit' | 'reject', received 'later'",
		]);
	});

	it('refuses with 422 an edited plan that is not JSON', () => {
		const refusal = refused(parseDecision(request, { decision: 'edit', plan: '{ tasks: [' }));
		expect(refusal.status).toBe(422);
		expect(refusal.message).toBe(NOT_ACCEPTED);
		expect(refusal.issues).toHaveLength(1);
		expect(refusal.issues?.[0]).toMatch(/^The plan is not valid JSON \(.+\)\.$/);
	});

	it.each([
		[
			'more tasks than maxTasks',
			{
				tasks: ['a', 'b', 'c', 'd'].map((id) => ({ id, title: id, agent: 'researcher' })),
			},
			['tasks: at most 3 tasks, got 4'],
		],
		[
			'a role not allowed',
			{ tasks: [{ id: 'a', title: 'Hack', agent: 'hacker' }] },
			['tasks.0.agent: must be one of researcher, writer, got "hacker"'],
		],
		[
			'a dependency cycle',
			{
				tasks: [
					{ id: 'a', title: 'A', agent: 'writer' },
					{ id: 'b', title: 'B', agent: 'writer', dependsOn: ['a', 'c'] },
					{ id: 'c', title: 'C', agent: 'writer', dependsOn: ['b'] },
				],
			},
			[
				'tasks: Dependency cycle: b → c → b',
				'tasks: Tasks that can never start (they wait on a cycle): b, c',
			],
		],
		[
			'an invalid task id and an empty title',
			{ tasks: [{ id: '-x', title: ' ', agent: 'writer' }] },
			[
				'tasks.0.id: must be 1–64 letters, digits, "_", "-" or ".", starting with a letter or digit',
				'tasks.0.title: must not be empty',
			],
		],
		[
			'no tasks',
			{ tasks: [] },
			[
				'tasks: give at least one task, or clarifying questions when the goal is too ambiguous to plan',
			],
		],
		[
			'questions instead of tasks',
			{ tasks: [], clarifyingQuestions: ['Which databases?'] },
			['tasks: a plan needs at least one task'],
		],
	])('refuses with 422 an edited plan with %s', (_, plan, issues) => {
		expect(parseDecision(request, { action: 'edit', plan })).toEqual({
			status: 422,
			message: NOT_ACCEPTED,
			issues,
		});
	});
});
