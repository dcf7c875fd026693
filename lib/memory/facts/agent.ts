/**
 * What an agent does with long-term memory, always for ONE subject fixed by the workflow (never by the model): the
 * facts recalled for its prompt, the `recall_memory` / `remember` tools, and learning after a turn with the outcome
 * reported instead of thrown (the answer has been paid for).
 */
import { DynamicStructuredTool } from '@langchain/core/tools';

import { modelFailureCode } from '../../llm/calls';
import { StructuredOutputError } from '../../llm/structured';
import { memoryErrorOf, storeFailureCode } from '../store-failures';
import { learnFromTurn, type LearnOutcome, type LearnRequest } from './learn';
import type { FactMemory, FactProvenance, RecalledFact } from './types';
import { asRecallQuery } from './validate';

/** The part of a fact the model sees: its ID, text and when it was last stated. */
function shown(fact: RecalledFact): { id: string; text: string; confirmedAt: string } {
	return { id: fact.id, text: fact.text, confirmedAt: fact.confirmedAt };
}

/**
 * The subject's `topK` facts most relevant to `query`, and the system-message section listing them with their IDs
 * ('' when there are none). Throws what FactMemory.recall throws.
 */
export async function recallForPrompt(
	facts: FactMemory,
	subject: string,
	query: string,
	topK: number,
): Promise<{ section: string; ids: string[] }> {
	const recalled = await facts.recall({ subject, query: asRecallQuery(query), topK });
	if (!recalled.length) return { section: '', ids: [] };
	const lines = recalled.map((fact) => `- [${fact.id}] ${fact.text}`).join('\n');
	return {
		section: `\n\nWhat you remember about the user from earlier conversations (long-term memory; newer information in this conversation wins):\n${lines}`,
		ids: recalled.map((fact) => fact.id),
	};
}

/**
 * `recall_memory` { query, topK? } → the subject's matching facts as JSON [{ id, text, confirmedAt }] (best first, at
 * most 20); `remember` { text } → "Remembered (ID …)". Both are bound to `subject`: their schemas have no subject, so
 * the model cannot reach another subject's facts (and the tenant is the FactMemory's). Store errors go back to the
 * model as the tool's error, like any failing tool.
 */
export function factTools(
	facts: FactMemory,
	subject: string,
	provenance: Omit<FactProvenance, 'source'> = {},
): DynamicStructuredTool[] {
	return [
		new DynamicStructuredTool({
			name: 'recall_memory',
			description:
				'Look up what you remember about the user from earlier conversations and workflows. Input: what you need to know.',
			schema: {
				type: 'object',
				properties: {
					query: { type: 'string', description: 'What to look for, in a few words' },
					topK: { type: 'number', description: 'How many facts at most (1-20, default 5)' },
				},
				required: ['query'],
				additionalProperties: false,
			},
			func: async ({ query, topK }: { query: string; topK?: number }) => {
				const k = Math.min(20, Math.max(1, Math.round(Number(topK) || 5)));
				const recalled = await facts.recall({ subject, query, topK: k });
				return recalled.length
					? JSON.stringify(recalled.map(shown))
					: 'Nothing is remembered about that.';
			},
		}),
		new DynamicStructuredTool({
			name: 'remember',
			description:
				'Remember a lasting fact about the user for later conversations (a preference, their plan, a decision). Input: one short sentence.',
			schema: {
				type: 'object',
				properties: { text: { type: 'string', description: 'The fact, one sentence' } },
				required: ['text'],
				additionalProperties: false,
			},
			func: async ({ text }: { text: string }) => {
				const fact = await facts.remember(subject, text, {
					provenance: { ...provenance, source: 'remember' },
				});
				return `Remembered (ID ${fact.id})`;
			},
		}),
	];
}

/**
 * What learning from a turn came to: the counts (with `skipped` when the budget was used up), or `failed` with the
 * failure's code (invalid_output, a store failure's code, a model failure's, or null) and message.
 */
export type LearnReport =
	| Pick<LearnOutcome, 'added' | 'updated' | 'deleted' | 'unchanged' | 'skipped'>
	| { failed: true; code: string | null; error: string };

/** learnFromTurn with its failure reported, not thrown (so the turn's answer is kept); cancellation still throws. */
export async function learnAndReport(request: LearnRequest): Promise<LearnReport> {
	try {
		const { added, updated, deleted, unchanged, skipped } = await learnFromTurn(request);
		return { added, updated, deleted, unchanged, ...(skipped ? { skipped } : {}) };
	} catch (error) {
		if (request.callOptions.signal?.aborted) throw error;
		const code =
			error instanceof StructuredOutputError
				? 'invalid_output'
				: (memoryErrorOf(error)?.code ?? storeFailureCode(error) ?? modelFailureCode(error));
		return { failed: true, code: code ?? null, error: (error as Error).message ?? String(error) };
	}
}
