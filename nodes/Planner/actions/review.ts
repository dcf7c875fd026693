/**
 * Review Rounds: the reviewer's settings for an item (checked: Minimum Score 0–1, a Rubric that is text and not empty,
 * a synthesized answer to review), and the reviewer's chat model (Reviewer Model with the LLM API credential, else the
 * run's own chat model).
 */
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import { createChatModel } from '../../../lib/llm';
import type { ReviewSettings } from '../../../lib/planning';
import type { ItemModel } from '../../shared/ai/connections';

/** Undefined when Review Rounds is 0. Throws NodeOperationError for invalid settings. */
export function reviewSettings(
	fn: IExecuteFunctions,
	itemIndex: number,
	model: ItemModel,
): ReviewSettings | undefined {
	const options = model.options;
	const rounds = Number(options.reviewRounds ?? 0);
	if (!rounds) return undefined;
	const invalid = (message: string, description?: string) =>
		new NodeOperationError(fn.getNode(), message, { itemIndex, description });
	if (options.synthesize === false)
		throw invalid(
			'Review Rounds need Synthesize Final Answer: the reviewer scores that answer',
			'Switch Options → Synthesize Final Answer on, or set Review Rounds to 0.',
		);
	const minimumScore = Number(options.minimumScore ?? 0.7);
	if (!(minimumScore >= 0 && minimumScore <= 1))
		throw invalid(
			`Minimum Score must be between 0 and 1, got ${JSON.stringify(options.minimumScore)}`,
		);
	const rubric = options.rubric;
	if (rubric !== undefined && typeof rubric !== 'string')
		throw invalid(`Rubric must be text, got ${Array.isArray(rubric) ? 'a list' : typeof rubric}`);
	if (typeof rubric === 'string' && !rubric.trim())
		throw invalid(
			'Rubric is empty',
			'Describe what a good answer must do, or remove the Rubric option.',
		);
	const reviewerModel = String(options.reviewerModel ?? '').trim();
	return {
		rounds,
		minimumScore,
		...(rubric ? { rubric } : {}),
		...(options.reviewerInstructions ? { instructions: String(options.reviewerInstructions) } : {}),
		reviewer:
			reviewerModel && model.llm
				? createChatModel(model.llm, { model: reviewerModel, temperature: 0 })
				: model.model,
	};
}
