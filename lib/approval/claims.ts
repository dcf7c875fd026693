/**
 * Exactly one decision per approval request. Reviewers (or retries of one reviewer) may post decisions at the same
 * moment; the first claim wins, and every other is told which decision won, so nobody is told their decision was
 * recorded when it was not. n8n resumes a waiting execution once, but it only finds out after it has handed each
 * request to the node, so the node must decide the winner itself, before it answers.
 */
import type { ApprovalDecision } from './request';

type ClaimOutcome = { won: true } | { won: false; winner: ApprovalDecision };

/** Where claims are kept: in the process by default (see ProcessClaims), or in a store all processes share. */
interface DecisionClaims {
	/** Claims `decision` for its request; atomic: of concurrent claims for one request exactly one wins. */
	claim(decision: ApprovalDecision, ttlMs: number): Promise<ClaimOutcome>;
}

/**
 * Claims kept in this process (the n8n main or webhook process that receives the decision), for `ttlMs` each. Enough
 * for one process answering the approval links; with several main or webhook processes behind a load balancer, a
 * shared store keeps the claims instead. Claims are checked and set in one synchronous step, so no two requests of
 * this process can both win.
 */
export class ProcessClaims implements DecisionClaims {
	private readonly claims = new Map<string, { decision: ApprovalDecision; until: number }>();

	async claim(decision: ApprovalDecision, ttlMs: number): Promise<ClaimOutcome> {
		const now = Date.now();
		for (const [id, claim] of this.claims) if (claim.until <= now) this.claims.delete(id);
		const held = this.claims.get(decision.approvalId);
		if (held) return { won: false, winner: held.decision };
		this.claims.set(decision.approvalId, { decision, until: now + ttlMs });
		return { won: true };
	}
}
