/**
 * What a reviewer is asked to decide while an execution waits, and the checks on the answer. The request travels in
 * n8n's execution data (JSON); the answer comes from the approval page's form or any HTTP client (JSON body).
 */
import { randomBytes } from 'node:crypto';

import { jsonSchemaToZod } from '@n8n/json-schema-to-zod';
import { z, type ZodType } from 'zod';

import type { PendingToolCall, ToolCallDecision } from '../llm';
import { planningSchema, type Plan } from '../planning';
import { sameSecret } from '../secrets';

/** One tool call waiting for a decision. `schema`: the tool's arguments as JSON Schema (draft 7), when known. */
interface ApprovalCall extends PendingToolCall {
	description?: string;
	schema?: Record<string, unknown>;
}

export type OnTimeout = 'reject' | 'fail';

interface RequestBase {
	/** Unguessable, new for every wait: a decision must carry it (an earlier or forged link cannot decide). */
	approvalId: string;
	/** Who asks, e.g. the node name. */
	requestedBy: string;
	/** ISO 8601; no decision is taken after it. Absent: waits until someone decides. */
	expiresAt?: string;
	onTimeout: OnTimeout;
}

/** An agent's tool calls of one model turn, reviewed together. */
export interface ToolCallsApproval extends RequestBase {
	kind: 'tool_calls';
	/** The model's text in the turn that made the calls (its reasoning), if any. */
	reasoning?: string;
	calls: ApprovalCall[];
}

/** A plan before it runs; an edited plan must pass the checks a planning reply passes (`maxTasks`, `roles`). */
export interface PlanApproval extends RequestBase {
	kind: 'plan';
	plan: Plan;
	maxTasks: number;
	/** The allowed roles (empty: any). */
	roles: string[];
}

export type ApprovalRequest = ToolCallsApproval | PlanApproval;

/** A reviewer's decision on one call, as the Agent's loop takes it (timed_out is the loop's own). */
type CallDecision = Exclude<ToolCallDecision, { action: 'timed_out' }>;

/** A reviewer's decision on a plan: run it, run the edited plan, or do not run it. */
export type PlanDecision =
	{ action: 'approve' } | { action: 'edit'; plan: Plan } | { action: 'reject'; message?: string };

export interface ApprovalDecision {
	approvalId: string;
	/** ISO 8601. */
	decidedAt: string;
	/** For tool calls: one per pending call. */
	decisions?: CallDecision[];
	/** For a plan. */
	plan?: PlanDecision;
}

/** 128 random bits, URL-safe. */
export const newApprovalId = (): string => randomBytes(16).toString('base64url');

/** A refused decision: HTTP status and what to tell the reviewer; the execution keeps waiting (or has moved on). */
export interface Refusal {
	status: 400 | 403 | 409 | 410 | 422;
	message: string;
	/** Per-field problems, e.g. `remember (call 1): value: Expected string, received number`. */
	issues?: string[];
}

/** Why the request can no longer be decided (403 wrong ID, 410 expired), or undefined when it can. */
export function checkDecidable(
	request: ApprovalRequest,
	presentedId: unknown,
	now = new Date(),
): Refusal | undefined {
	if (!sameSecret(presentedId, request.approvalId))
		return {
			status: 403,
			message:
				'This approval link is not valid: it is for an earlier request or was altered. Open the latest approval link.',
		};
	if (request.expiresAt && now.getTime() >= Date.parse(request.expiresAt))
		return {
			status: 410,
			message: `This approval request timed out at ${request.expiresAt}; it can no longer be decided.`,
		};
	return undefined;
}

const decisionSchema = z.object({
	id: z.string(),
	action: z.enum(['approve', 'edit', 'reject']),
	args: z.unknown().optional(),
	message: z.string().max(2000).optional(),
});
const callsBodySchema = z.object({ decisions: z.array(decisionSchema).min(1) });
const planBodySchema = z.object({
	action: z.enum(['approve', 'edit', 'reject']),
	plan: z.unknown().optional(),
	message: z.string().max(2000).optional(),
});

const NOT_ACCEPTED =
	'The decision was not accepted; nothing has run. Correct it and send it again.';

/**
 * The decision in an HTTP body, for tool calls JSON `{ decisions: [{ id, action, args?, message? }] }` or the
 * approval page's fields `decision_<i>`, `args_<i>` (JSON text), `message_<i>` per call i (0-based); for a plan JSON
 * `{ action, plan?, message? }` or the fields `decision`, `plan` (JSON text), `message`. Returns the checked decision,
 * or a Refusal: 400 for a malformed body, 422 for a decision on a call that is not pending, a missing decision, or an
 * edit that is not JSON or does not pass the tool's schema / the plan checks (every problem listed).
 */
export function parseDecision(
	request: ApprovalRequest,
	body: unknown,
	now = new Date(),
): { decision: ApprovalDecision } | Refusal {
	const decided = (part: Pick<ApprovalDecision, 'decisions' | 'plan'>) => ({
		decision: { approvalId: request.approvalId, decidedAt: now.toISOString(), ...part },
	});
	if (request.kind === 'plan') {
		const parsed = planBodySchema.safeParse(formToPlanDecision(body) ?? body);
		if (!parsed.success)
			return malformed(
				'{ "action": "approve" | "edit" | "reject", "plan"?: {…}, "message"?: "…" }',
				parsed.error,
			);
		const { action, message } = parsed.data;
		if (action === 'approve') return decided({ plan: { action } });
		if (action === 'reject')
			return decided({ plan: { action, ...(message?.trim() ? { message: message.trim() } : {}) } });
		const plan =
			typeof parsed.data.plan === 'string' ? parseJson(parsed.data.plan) : parsed.data.plan;
		if (plan instanceof Error)
			return {
				status: 422,
				message: NOT_ACCEPTED,
				issues: [`The plan is not valid JSON (${plan.message}).`],
			};
		const checked = planningSchema(request.maxTasks, request.roles).safeParse(plan);
		const issues = checked.success
			? checked.data.tasks.length
				? []
				: ['tasks: a plan needs at least one task']
			: checked.error.issues.map((i) => `${i.path.join('.') || 'plan'}: ${i.message}`);
		if (issues.length || !checked.success) return { status: 422, message: NOT_ACCEPTED, issues };
		return decided({
			plan: {
				action,
				plan: { goal: checked.data.goal.trim() || request.plan.goal, tasks: checked.data.tasks },
			},
		});
	}
	const parsed = callsBodySchema.safeParse(formToDecisions(request, body) ?? body);
	if (!parsed.success)
		return malformed(
			'{ "decisions": [{ "id": "<tool call id>", "action": "approve" | "edit" | "reject", "args"?: {…}, "message"?: "…" }] }',
			parsed.error,
		);
	const issues: string[] = [];
	const decisions: CallDecision[] = [];
	const pendingIds = new Set(request.calls.map((call) => call.id));
	for (const d of parsed.data.decisions) {
		if (!pendingIds.has(d.id)) issues.push(`There is no pending tool call "${d.id}".`);
	}
	request.calls.forEach((call, index) => {
		const label = `${call.name} (call ${index + 1})`;
		const d = parsed.data.decisions.find((x) => x.id === call.id);
		if (!d) return void issues.push(`${label}: no decision.`);
		if (d.action === 'approve') return void decisions.push({ id: call.id, action: 'approve' });
		if (d.action === 'reject')
			return void decisions.push({
				id: call.id,
				action: 'reject',
				...(d.message?.trim() ? { message: d.message.trim() } : {}),
			});
		const args = typeof d.args === 'string' ? parseJson(d.args) : d.args;
		if (args instanceof Error)
			return void issues.push(`${label}: the arguments are not valid JSON (${args.message}).`);
		const problems = argumentProblems(call, args);
		if (problems.length) return void issues.push(...problems.map((p) => `${label}: ${p}`));
		decisions.push({ id: call.id, action: 'edit', args: args as Record<string, unknown> });
	});
	if (issues.length) return { status: 422, message: NOT_ACCEPTED, issues };
	return decided({ decisions });
}

function malformed(shape: string, error: z.ZodError): Refusal {
	return {
		status: 400,
		message: `The decision is malformed: send ${shape}`,
		issues: error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
	};
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text) as unknown;
	} catch (error) {
		return error as Error;
	}
}

/** Problems of edited arguments against the call's JSON Schema (an object is required in any case). */
function argumentProblems(call: ApprovalCall, args: unknown): string[] {
	if (typeof args !== 'object' || args === null || Array.isArray(args))
		return ['the arguments must be a JSON object.'];
	if (!call.schema) return [];
	let schema: ZodType;
	try {
		schema = jsonSchemaToZod(call.schema as never) as ZodType;
	} catch {
		return []; // a schema zod cannot express: the tool itself still validates when it runs
	}
	const result = schema.safeParse(args);
	return result.success
		? []
		: result.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`);
}

/** The plan form's fields as a JSON decision body, or undefined when `body` is not that form. */
function formToPlanDecision(body: unknown): unknown {
	if (typeof body !== 'object' || body === null || !('decision' in body) || 'action' in body)
		return undefined;
	const form = body as Record<string, unknown>;
	return {
		action: form.decision,
		...(form.decision === 'edit' ? { plan: form.plan } : {}),
		...(typeof form.message === 'string' ? { message: form.message } : {}),
	};
}

/** The tool-call form's fields as a JSON decision body, or undefined when `body` is not that form. */
function formToDecisions(request: ToolCallsApproval, body: unknown): unknown {
	if (typeof body !== 'object' || body === null || !('decision_0' in body)) return undefined;
	const form = body as Record<string, unknown>;
	return {
		decisions: request.calls.map((call, i) => ({
			id: call.id,
			action: form[`decision_${i}`],
			...(form[`decision_${i}`] === 'edit' ? { args: form[`args_${i}`] } : {}),
			...(typeof form[`message_${i}`] === 'string' ? { message: form[`message_${i}`] } : {}),
		})),
	};
}
