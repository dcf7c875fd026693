import type { ApprovalRequest } from './request';

/**
 * The JSON POSTed to a notification URL when an approval is requested. `text` is a one-paragraph summary with the
 * page link, so a Slack or Microsoft Teams incoming webhook shows it as it is; the other fields are for a workflow.
 */
export interface ApprovalNotification {
	text: string;
	approvalId: string;
	requestedBy: string;
	calls: Array<{ id: string; name: string; args: Record<string, unknown> }>;
	reasoning?: string;
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
	const names = request.calls.map((call) => call.name).join(', ');
	return {
		text: `Approval needed: ${request.requestedBy} wants to call ${names}. Review it: ${approvalUrl}${
			request.expiresAt ? ` (before ${request.expiresAt})` : ''
		}`,
		approvalId: request.approvalId,
		requestedBy: request.requestedBy,
		calls: request.calls.map(({ id, name, args }) => ({ id, name, args })),
		...(request.reasoning ? { reasoning: request.reasoning } : {}),
		...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
		approvalUrl,
		...(executionUrl ? { executionUrl } : {}),
	};
}
