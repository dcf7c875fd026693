/**
 * The Approval node's webhook(): GET shows the approval page, POST takes the decision (form or JSON). Only an
 * accepted decision resumes the execution; a refused one (wrong or earlier approval ID, expired, invalid edit) is
 * answered with its HTTP status and leaves the execution waiting, unchanged. n8n has checked the resume token first.
 * Of decisions posted at the same moment exactly one is accepted (the first to claim the request, lib/approval
 * claims.ts); the others get 409 with the decision that was.
 */
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import {
	approvalPage,
	checkDecidable,
	messagePage,
	parseDecision,
	type ApprovalDecision,
	type ApprovalRequest,
	type Refusal,
} from '../../../lib/approval';
import { ProcessClaims } from '../../../lib/approval/claims';
import {
	APPROVAL_DECISION_KEY,
	APPROVAL_REQUEST_KEY,
	executionUrl,
} from '../../shared/ai/approval';

/** This process's claims; a claim outlives the moment decisions race for it (n8n refuses any later one itself). */
const claims = new ProcessClaims();
const CLAIM_TTL_MS = 60 * 60_000;

/** The decision in words, e.g. "send_email: approve" or "plan: edit". */
function summaryOf(request: ApprovalRequest, decision: ApprovalDecision): string {
	return request.kind === 'plan'
		? `plan: ${decision.plan!.action}`
		: decision
				.decisions!.map((d) => `${request.calls.find((c) => c.id === d.id)?.name}: ${d.action}`)
				.join(', ');
}

const HEADERS = {
	'Content-Security-Policy':
		"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
	// The page URL carries the tokens: keep it out of caches and Referer headers.
	'Cache-Control': 'no-store',
	'Referrer-Policy': 'no-referrer',
};

export async function webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const req = this.getRequestObject();
	const res = this.getResponseObject();
	const wantsJson =
		String(req.headers['content-type'] ?? '').includes('application/json') ||
		String(req.headers.accept ?? '').startsWith('application/json');
	const body = (this.getBodyData() ?? {}) as IDataObject;
	const send = (status: number, html: string, json: IDataObject) => {
		res.status(status).set(HEADERS);
		if (wantsJson) res.json(json);
		else res.type('html').send(html);
		return { noWebhookResponse: true };
	};
	const refuse = (refusal: Refusal, request?: ApprovalRequest) =>
		send(
			refusal.status,
			request && refusal.status === 422
				? approvalPage(request, { refusal, submitted: body })
				: messagePage('Approval not possible', refusal.message, true),
			{ error: { message: refusal.message, status: refusal.status, issues: refusal.issues ?? [] } },
		);

	const request = this.evaluateExpression(`{{ $json.${APPROVAL_REQUEST_KEY} }}`, 0) as
		ApprovalRequest | undefined;
	if (!request?.approvalId)
		return refuse({ status: 409, message: 'Nothing in this execution is waiting for approval.' });
	const presented = (this.getQueryData() as IDataObject).approval ?? body.approvalId;
	const undecidable = checkDecidable(request, presented);
	if (undecidable) return refuse(undecidable);

	if (req.method === 'GET')
		return send(200, approvalPage(request, { executionUrl: executionUrl(this) }), {
			request,
		} as IDataObject);

	const parsed = parseDecision(request, body);
	if ('status' in parsed) return refuse(parsed, request);
	const claim = await claims.claim(parsed.decision, CLAIM_TTL_MS);
	if (!claim.won) {
		const message = `Another decision was recorded first (${summaryOf(request, claim.winner)}); yours was not applied.`;
		return send(409, messagePage('Already decided', message, true), {
			accepted: false,
			error: { message, status: 409 },
			decision: claim.winner as unknown as IDataObject,
		});
	}
	send(
		200,
		messagePage(
			'Decision recorded',
			`Thank you. The workflow continues with your decision (${summaryOf(request, parsed.decision)}).`,
		),
		{ accepted: true, decision: parsed.decision as unknown as IDataObject },
	);
	return {
		noWebhookResponse: true,
		workflowData: [
			[{ json: { [APPROVAL_DECISION_KEY]: parsed.decision as unknown as IDataObject } }],
		],
	};
}
