import type { Plan } from '../planning';
import type { ApprovalRequest } from './request';

/**
 * The JSON POSTed to a notification URL when an approval is requested. `text` is a one-paragraph summary with the
 * page link, so a Slack or Microsoft Teams incoming webhook shows it as it is; the other fields are for a workflow.
 */
interface ApprovalNotification {
	text: string;
	approvalId: string;
	kind: ApprovalRequest['kind'];
	requestedBy: string;
	/** For tool calls. */
	calls?: Array<{ id: string; name: string; args: Record<string, unknown> }>;
	reasoning?: string;
	/** For a plan. */
	plan?: Plan;
	expiresAt?: string;
	/** The approval page (GET) — it also accepts the decision as JSON (POST). */
	approvalUrl: string;
	executionUrl?: string;
}

export function approvalNotification(
	request: ApprovalRequest,
	approvalUrl: string,
	executionUrl?: string,
): ApprovalNotification {
	const what =
		request.kind === 'plan'
			? `run a plan of ${request.plan.tasks.length} tasks for "${request.plan.goal}"`
			: `call ${request.calls.map((call) => call.name).join(', ')}`;
	return {
		text: `Approval needed: ${request.requestedBy} wants to ${what}. Review it: ${approvalUrl}${
			request.expiresAt ? ` (before ${request.expiresAt})` : ''
		}`,
		approvalId: request.approvalId,
		kind: request.kind,
		requestedBy: request.requestedBy,
		...(request.kind === 'plan'
			? { plan: request.plan }
			: {
					calls: request.calls.map(({ id, name, args }) => ({ id, name, args })),
					...(request.reasoning ? { reasoning: request.reasoning } : {}),
				}),
		...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
		approvalUrl,
		...(executionUrl ? { executionUrl } : {}),
	};
}
