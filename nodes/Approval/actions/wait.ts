/**
 * The Approval node's execute(): run by n8n's engine when an Agent asks for approval. Puts the execution into n8n's
 * waiting state (saved to the database; resumed by a call to its resume URL on any main or webhook process, then run
 * on any worker) until the request's expiry, and notifies the reviewer if a notification URL is set.
 */
import {
	NodeOperationError,
	WAIT_INDEFINITELY,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import { approvalNotification, type ApprovalRequest } from '../../../lib/approval';
import { APPROVAL_REQUEST_KEY, executionUrl } from '../../shared/ai/approval';

/** The URL of the approval page for `request` (n8n's resume URL with its token, plus the approval ID). */
function approvalUrl(fn: IExecuteFunctions, request: ApprovalRequest): string {
	const url = new URL(String(fn.evaluateExpression('{{ $execution.resumeUrl }}', 0)));
	url.searchParams.set('approval', request.approvalId);
	return url.toString();
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const request = this.getInputData()[0]?.json[APPROVAL_REQUEST_KEY] as ApprovalRequest | undefined;
	if (!request?.approvalId)
		throw new NodeOperationError(
			this.getNode(),
			'Nothing to approve: this node is run by an OpenAgents Agent with "Require Approval For" set',
			{ description: "Connect it to the Agent's Tool input; it does not run on its own." },
		);
	const pageUrl = approvalUrl(this, request);
	const execution = executionUrl(this);
	const notificationUrl = String(this.getNodeParameter('notificationUrl', 0, '') ?? '').trim();
	let notificationError: string | undefined;
	if (notificationUrl) {
		try {
			await this.helpers.httpRequest({
				method: 'POST',
				url: notificationUrl,
				body: approvalNotification(request, pageUrl, execution),
				json: true,
				timeout: 10_000,
			});
		} catch (error) {
			// The execution still waits: the page link is in this node's output and in the execution.
			notificationError = (error as Error).message;
			this.logger.warn(
				`Approval notification to ${new URL(notificationUrl).host} failed: ${notificationError}`,
				{
					executionId: this.getExecutionId(),
					node: this.getNode().name,
				},
			);
		}
	}
	await this.putExecutionToWait(
		request.expiresAt ? new Date(request.expiresAt) : WAIT_INDEFINITELY,
	);
	return [
		[
			{
				json: {
					status: 'waiting',
					approvalId: request.approvalId,
					approvalUrl: pageUrl,
					executionUrl: execution,
					...(request.kind === 'plan'
						? { plan: request.plan as unknown as IDataObject }
						: { calls: request.calls.map(({ id, name, args }) => ({ id, name, args })) }),
					...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
					...(notificationUrl ? { notified: !notificationError } : {}),
					...(notificationError ? { notificationError } : {}),
				},
				pairedItem: { item: 0 },
			},
		],
	];
}
