/**
 * The final step of a plan run: the chat model combines the task results into one answer to the goal, grounded in
 * the passages the tasks retrieved. Passages are numbered once across the run; a citation [n] that matches no
 * retrieved passage is removed from the answer and reported, never passed on (as Knowledge Base Answer does).
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';

import {
	invokeChatModel,
	messageText,
	type CallOptions,
	type InvokableChatModel,
	type UsageTracker,
} from '../llm';
import { inSpan } from '../tracing';
import { checkCitations } from '../rag/answer';
import type { PlanRunResult } from './executor';
import { synthesisPrompt } from './prompts';
import { PassageCatalog, type NumberedPassage } from './research';
import type { Plan } from './schema';

export interface GroundedSynthesis {
	/** The answer to the goal, citing passages as [n]; '' when no task completed. */
	output: string;
	/** Every passage the completed tasks retrieved, numbered across the run. */
	passages: NumberedPassage[];
	/** The passages the answer cites, by number. */
	citations: NumberedPassage[];
	/** Distinct sources of the cited passages, in order of first citation. */
	sources: string[];
	/** Numbers the model cited that match no retrieved passage (removed from `output`). */
	invalidCitations: number[];
	/** Per task id: the numbers of the passages that task retrieved. */
	taskPassages: Record<string, number[]>;
}

/** Numbers the passages of the completed tasks, in plan order. */
export function numberPassages(result: Pick<PlanRunResult, 'tasks'>): {
	passages: NumberedPassage[];
	taskPassages: Record<string, number[]>;
} {
	const catalog = new PassageCatalog();
	const taskPassages: Record<string, number[]> = {};
	for (const task of result.tasks) {
		if (task.status === 'completed' && task.passages?.length)
			taskPassages[task.id] = catalog.add(task.passages);
	}
	return { passages: catalog.all, taskPassages };
}

/**
 * One model call (under options' retry policy; usage recorded in options.usage), none when no task completed.
 * Traced as a `synthesize` span.
 * Throws what invokeChatModel throws.
 */
export async function synthesizeAnswer(
	model: InvokableChatModel,
	plan: Plan,
	result: Pick<PlanRunResult, 'tasks'>,
	options: CallOptions & { usage?: UsageTracker },
): Promise<GroundedSynthesis> {
	const { passages, taskPassages } = numberPassages(result);
	const empty = {
		output: '',
		passages,
		citations: [],
		sources: [],
		invalidCitations: [],
		taskPassages,
	};
	const prompt = synthesisPrompt(plan, result, passages);
	if (!prompt) return empty;
	const reply = messageText(
		await inSpan('synthesize', {}, () =>
			invokeChatModel(
				model,
				[new SystemMessage(prompt.system), new HumanMessage(prompt.user)],
				options,
			),
		),
	);
	if (!passages.length) return { ...empty, output: reply };
	const checked = checkCitations(reply, passages.length);
	const cited = [...checked.cited].sort((a, b) => a - b).map((n) => passages[n - 1]);
	return {
		output: checked.answer,
		passages,
		citations: cited,
		sources: [...new Set(checked.cited.map((n) => passages[n - 1].source))],
		invalidCitations: checked.invalid,
		taskPassages,
	};
}
