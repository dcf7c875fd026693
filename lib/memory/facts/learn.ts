/**
 * Learning from a conversation turn (Mem0's update phase: Chhikara et al. 2025, "Mem0: Building Production-Ready AI
 * Agents with Scalable Long-Term Memory", arXiv:2504.19413): ONE model call reads the turn and the subject's stored
 * facts (all, or the most related to it), each given with a short ID, and answers with a decision per fact:
 * - ADD a new durable fact;
 * - UPDATE a stored fact whose information changed or grew (the newer text supersedes it: FactMemory.update keeps the
 *   old fact as history, never recalled);
 * - DELETE a stored fact the turn contradicts or retracts (FactMemory.forget);
 * - NOOP for a stored fact the turn leaves as it is.
 * The reply is validated with zod (lib/llm/structured.ts: one repair round with the errors, then rejected); an ID that
 * is not one of the given ones, or one decided on twice, is invalid output. Nothing is applied unless the whole reply
 * is valid. The short IDs (f1, f2, …) stand for the stored UUIDs, as Mem0 does, so that the model copies IDs it can
 * read rather than inventing near-misses.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { z } from 'zod';

import { budgetSpent, type AgentBudget } from '../../llm/agent';
import type { CallOptions, InvokableChatModel } from '../../llm/calls';
import { invokeStructured } from '../../llm/structured';
import type { UsageTracker } from '../../llm/usage';
import type { Fact, FactMemory, FactProvenance } from './types';
import { asRecallQuery, MAX_FACT_CHARS } from './validate';

/** Facts of the subject shown to the model: the ones most related to the turn (default 10). */
const DEFAULT_EXISTING = 10;

// Held to what the store accepts, so that a reply is refused (and repaired) before any of it is applied.
const factText = z.string().trim().min(1).max(MAX_FACT_CHARS);

const decisionSchema = z.discriminatedUnion('event', [
	z.object({ event: z.literal('ADD'), text: factText }),
	z.object({ event: z.literal('UPDATE'), id: z.string(), text: factText }),
	z.object({ event: z.literal('DELETE'), id: z.string() }),
	z.object({ event: z.literal('NOOP'), id: z.string() }),
]);

type Decision = z.infer<typeof decisionSchema>;

/** The reply's schema for the given short IDs: every ID used must be one of them, and at most once. */
function learnSchema(ids: ReadonlySet<string>) {
	return z.object({ memory: z.array(decisionSchema) }).superRefine((reply, ctx) => {
		const seen = new Set<string>();
		reply.memory.forEach((decision, index) => {
			if (!('id' in decision)) return;
			const path = ['memory', index, 'id'];
			if (!ids.has(decision.id))
				ctx.addIssue({
					code: z.ZodIssueCode.custom,
					path,
					message: `"${decision.id}" is not one of the given fact IDs (${[...ids].join(', ') || 'none'})`,
				});
			else if (seen.has(decision.id))
				ctx.addIssue({
					code: z.ZodIssueCode.custom,
					path,
					message: `fact "${decision.id}" has more than one decision`,
				});
			seen.add(decision.id);
		});
	});
}

export const LEARN_INSTRUCTION = `You maintain the long-term memory of an assistant about one subject (a user or customer).
From the conversation turn below, take the durable facts about the subject: who they are, their preferences, plans,
account, products, settings, problems and decisions. Leave out small talk, questions, one-off requests and anything
said only by the assistant that the subject did not confirm. Then compare them with the stored facts and decide:
- ADD: a new fact that no stored fact holds. Give "text": one short self-contained sentence about the subject.
- UPDATE: a stored fact whose information changed or became more precise. Give its "id" and the new "text".
- DELETE: a stored fact the turn contradicts or retracts, with nothing to replace it. Give its "id".
- NOOP: a stored fact that stays as it is. Give its "id".
Use only the IDs of the stored facts listed. Reply {"memory": []} when the turn holds nothing worth remembering.`;

export interface LearnRequest {
	facts: FactMemory;
	subject: string;
	/** The turn: the subject's message and the assistant's answer. */
	turn: { user: string; assistant: string };
	model: InvokableChatModel;
	/** Retry policy, timeout, rate limit and fallbacks of the run; `usage` counts the call. */
	callOptions: CallOptions & { usage?: UsageTracker };
	/** The run's budget: when it is used up (by `callOptions.usage`'s totals) no call is made. */
	budget?: AgentBudget;
	/** When the run started, ms since the epoch (for the wall-time budget). */
	startedAt?: number;
	/** Workflow, execution and message the learned facts come from (`source` is always 'learned'). */
	provenance?: Omit<FactProvenance, 'source'>;
	/** Stored facts shown to the model at most (default 10): all when there are no more, else the most related. */
	existing?: number;
}

/** One applied decision: the fact stored (ADD, UPDATE) or removed (DELETE). */
export interface LearnedChange {
	event: 'ADD' | 'UPDATE' | 'DELETE';
	/** The stored fact's ID (for UPDATE: the new fact's; `replaces` is the old one). */
	id: string;
	text: string;
	replaces?: string;
}

export interface LearnOutcome {
	added: number;
	updated: number;
	deleted: number;
	/** NOOP decisions. */
	unchanged: number;
	changes: LearnedChange[];
	/** Repair rounds the reply needed (0 or 1). */
	repairs: number;
	/** Set when no call was made because the run's budget is used up (all counts 0). */
	skipped?: string;
}

/** The stored facts as the model sees them: `f1: text` lines; and the short ID → fact map. */
function listed(existing: readonly Fact[]): { lines: string; byId: Map<string, Fact> } {
	const byId = new Map(existing.map((fact, i) => [`f${i + 1}`, fact]));
	const lines = [...byId].map(([id, fact]) => `${id}: ${fact.text}`).join('\n');
	return { lines: lines || '(none)', byId };
}

/**
 * The stored facts the model reconciles with: all of the subject's when they are at most `existing`, else the ones
 * recall finds most related to the turn (a fact that shares neither words nor, with embeddings, meaning with the turn
 * is then not shown, and stays as it is).
 */
async function existingFacts({ facts, subject, turn, existing }: LearnRequest): Promise<Fact[]> {
	const limit = existing ?? DEFAULT_EXISTING;
	// Pages hold superseded facts' keys too (filtered out), so one page of `limit` keys can be short of `limit` facts.
	const current: Fact[] = [];
	let cursor: string | undefined;
	do {
		const page = await facts.list(subject, {
			limit: Math.min(Math.max(limit + 1, 100), 1000),
			cursor,
		});
		current.push(...page.facts);
		cursor = page.nextCursor;
	} while (cursor && current.length <= limit);
	if (current.length <= limit) return current;
	return facts.recall({
		subject,
		query: asRecallQuery(`${turn.user}\n${turn.assistant}`),
		topK: limit,
	});
}

/**
 * Learns from one turn (see the file comment). Returns the counts and the changes applied. Throws
 * StructuredOutputError (lib/llm) when the reply is still invalid after one repair (nothing applied), the model
 * call's error after the Retry Policy, and MemoryError from the store (decisions are applied in the model's order; a
 * store failure leaves the ones before it applied).
 */
export async function learnFromTurn(request: LearnRequest): Promise<LearnOutcome> {
	const { facts, subject, turn, callOptions } = request;
	const none = { added: 0, updated: 0, deleted: 0, unchanged: 0, changes: [], repairs: 0 };
	const spent = callOptions.usage
		? budgetSpent(
				request.budget ?? {},
				callOptions.usage.get(),
				Date.now() - (request.startedAt ?? Date.now()),
			)
		: undefined;
	if (spent) return { ...none, skipped: spent };

	const existing = await existingFacts(request);
	const { lines, byId } = listed(existing);
	const { value, repairs } = await invokeStructured(
		request.model,
		[
			new SystemMessage(LEARN_INSTRUCTION),
			new HumanMessage(
				`Stored facts:\n${lines}\n\nConversation turn:\nSubject: ${turn.user}\nAssistant: ${turn.assistant}`,
			),
		],
		learnSchema(new Set(byId.keys())),
		callOptions,
	);
	const outcome: LearnOutcome = { ...none, changes: [], repairs };
	const provenance: FactProvenance = { ...request.provenance, source: 'learned' };
	for (const decision of value.memory) await apply(decision);
	return outcome;

	async function apply(decision: Decision): Promise<void> {
		if (decision.event === 'NOOP') {
			outcome.unchanged++;
			return;
		}
		if (decision.event === 'ADD') {
			const fact = await facts.remember(subject, decision.text, { provenance });
			outcome.added++;
			outcome.changes.push({ event: 'ADD', id: fact.id, text: fact.text });
			return;
		}
		const old = byId.get(decision.id)!;
		if (decision.event === 'UPDATE') {
			const fact = await facts.update(subject, old.id, decision.text, { provenance });
			outcome.updated++;
			outcome.changes.push({ event: 'UPDATE', id: fact.id, text: fact.text, replaces: old.id });
			return;
		}
		await facts.forget(subject, old.id);
		outcome.deleted++;
		outcome.changes.push({ event: 'DELETE', id: old.id, text: old.text });
	}
}
