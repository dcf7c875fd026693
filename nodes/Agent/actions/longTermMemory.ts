/**
 * The Agent's Long-Term Memory parameters for one item: the subject (given, or the Chat Completions caller's user),
 * the tenant's facts in the store of the memory credential, and what to do with them — recall into the prompt, the
 * recall_memory / remember tools, learning after each turn (lib/memory/facts).
 */
import type { StructuredToolInterface } from '@langchain/core/tools';
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import type { FactMemory, FactProvenance } from '../../../lib/memory/facts';
import {
	factTools,
	learnAndReport,
	recallForPrompt,
	type LearnReport,
} from '../../../lib/memory/facts/agent';
import { factMemoryFor, runProvenance } from '../../shared/clients/facts';
import { servedRequest } from './chatCompletion';
import type { ItemAgent } from './itemAgent';
import type { AgentItem, AgentRun } from './types';

export interface ItemFacts {
	facts: FactMemory;
	subject: string;
	/** Where learned and remembered facts come from. */
	provenance: Omit<FactProvenance, 'source'>;
	/** Recall Memories: how many facts go into the prompt; undefined when off. */
	recallTopK?: number;
	learn: boolean;
	/** recall_memory and remember, when turned on. */
	tools: StructuredToolInterface[];
}

/** The subject: the Subject parameter, else the Chat Completions caller's user. Throws NodeOperationError for none. */
function subjectOf(fn: IExecuteFunctions, itemIndex: number): string {
	const given = fn.getNodeParameter('memorySubject', itemIndex, '');
	if (typeof given !== 'string')
		throw new NodeOperationError(fn.getNode(), 'The subject must be text', { itemIndex });
	const subject = given.trim() || servedRequest(fn, itemIndex)?.user;
	if (!subject)
		throw new NodeOperationError(fn.getNode(), 'Long-Term Memory needs a subject', {
			itemIndex,
			description:
				'Set Subject to whose facts these are, e.g. {{ $json.customerId }}; after an OpenAgents Chat Completions Trigger, clients can send it as "user".',
		});
	return subject;
}

/** The item's long-term memory, or undefined when Long-Term Memory is off. Opens the run's memory store. */
export async function itemFacts(run: AgentRun, item: AgentItem): Promise<ItemFacts | undefined> {
	const { fn } = run;
	const { itemIndex } = item;
	if (!fn.getNodeParameter('longTermMemory', itemIndex, false)) return undefined;
	const subject = subjectOf(fn, itemIndex);
	const facts = factMemoryFor(fn, await run.memoryStore.get(), item, run.llm);
	const provenance = runProvenance(fn);
	const recall = fn.getNodeParameter('recallMemories', itemIndex, true) as boolean;
	return {
		facts,
		subject,
		provenance,
		...(recall ? { recallTopK: fn.getNodeParameter('recallTopK', itemIndex, 5) as number } : {}),
		learn: fn.getNodeParameter('learnFromConversation', itemIndex, false) as boolean,
		tools: fn.getNodeParameter('factTools', itemIndex, false)
			? factTools(facts, subject, provenance)
			: [],
	};
}

/** Recall Memories: the facts for the prompt (a system-message section and their IDs), or undefined when off. */
export async function recallMemories(facts: ItemFacts | undefined, prompt: string) {
	if (!facts?.recallTopK) return undefined;
	return recallForPrompt(facts.facts, facts.subject, prompt, facts.recallTopK);
}

/**
 * Learn From Conversation after a turn, with the item's model, Retry Policy and what is left of its budget; undefined
 * when off. A failure is the report's, not the item's (see learnAndReport).
 */
export async function learnFromTurn(
	agent: ItemAgent,
	item: AgentItem,
	prompt: string,
	output: unknown,
): Promise<LearnReport | undefined> {
	if (!agent.facts?.learn) return undefined;
	return learnAndReport({
		...agent.facts,
		turn: { user: prompt, assistant: typeof output === 'string' ? output : JSON.stringify(output) },
		model: agent.model,
		callOptions: agent.callOptions,
		budget: agent.agentOptions.budget,
		startedAt: item.startedAt,
	});
}
