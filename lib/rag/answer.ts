/**
 * Answers a question from retrieved chunks only, with numbered citations [n] that are checked against the chunks
 * given: a citation of a passage that was not given is removed from the answer and reported, never passed on.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';

import {
	invokeChatModel,
	messageText,
	type CallOptions,
	type InvokableChatModel,
	type UsageTracker,
} from '../llm';
import type { RetrievedChunk } from './retrieval';

const NOT_FOUND_ANSWER = 'The knowledge base does not contain the answer to this question.';

interface Citation {
	/** The number used in the answer, [n]. */
	n: number;
	source: string;
	chunkIndex: number;
	headingPath: string;
	page?: number;
	score: number;
	text: string;
}

interface Answer {
	answer: string;
	/** True when the answer cites at least one passage. */
	found: boolean;
	/** The passages the answer cites, in citation-number order. */
	citations: Citation[];
	/** Distinct cited sources, in citation order. */
	sources: string[];
	/** Citation numbers the model used that match no passage (removed from `answer`). */
	invalidCitations: number[];
}

/** One context passage as the model reads it: "[n] (source: s § heading, page p) text". */
export function formatPassage(
	n: number,
	p: { source: string; headingPath?: string; page?: number; text: string },
): string {
	return `[${n}] (source: ${p.source}${p.headingPath ? ` § ${p.headingPath}` : ''}${p.page ? `, page ${p.page}` : ''}) ${p.text}`;
}

/** How the model must cite numbered passages. */
export const CITATION_RULE =
	'Cite the passage numbers in square brackets after each statement they support, e.g. "… is configured in YAML [2].".';

/** The system prompt: rules, then passages as "[n] (source: …) text" blocks. */
function answerPrompt(chunks: readonly RetrievedChunk[], instructions = ''): string {
	const rules = [
		'Answer the question using only the numbered context passages below; do not use outside knowledge.',
		CITATION_RULE,
		`If the passages do not contain the answer, reply exactly: "${NOT_FOUND_ANSWER}"`,
		instructions.trim(),
	].filter(Boolean);
	const passages = chunks.map((c, i) => formatPassage(i + 1, c));
	return `${rules.join('\n')}\n\nContext passages:\n\n${passages.join('\n\n')}`;
}

/** Citation numbers [n] (also [1, 2] and [1][2]) in order of first use. */
export function citationNumbers(answer: string): number[] {
	const numbers: number[] = [];
	for (const group of answer.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
		for (const n of group[1].split(',').map((s) => Number(s.trim())))
			if (!numbers.includes(n)) numbers.push(n);
	}
	return numbers;
}

/**
 * Checks an answer's citations against `count` numbered passages (1…count): numbers outside that range are removed
 * from the text. Returns the text, the valid numbers (order of first use) and the invalid ones.
 */
export function checkCitations(
	answer: string,
	count: number,
): { answer: string; cited: number[]; invalid: number[] } {
	const used = citationNumbers(answer);
	const invalid = used.filter((n) => n < 1 || n > count);
	let text = answer;
	if (invalid.length) {
		text = answer
			.replace(/\[(\d+(?:\s*,\s*\d+)*)\]/g, (_, list: string) => {
				const kept = list
					.split(',')
					.map((s) => s.trim())
					.filter((s) => !invalid.includes(Number(s)));
				return kept.length ? `[${kept.join(', ')}]` : '';
			})
			.replace(/ +([.,;:])/g, '$1');
	}
	return { answer: text.trim(), cited: used.filter((n) => !invalid.includes(n)), invalid };
}

/** Maps the answer's citations to `chunks`; strips numbers that match no chunk. */
export function resolveCitations(
	answer: string,
	chunks: readonly RetrievedChunk[],
): Omit<Answer, 'found'> {
	const checked = checkCitations(answer, chunks.length);
	const citations = [...checked.cited]
		.sort((a, b) => a - b)
		.map((n) => {
			const c = chunks[n - 1];
			return {
				n,
				source: c.source,
				chunkIndex: c.chunkIndex,
				headingPath: c.headingPath,
				...(c.page ? { page: c.page } : {}),
				score: c.score,
				text: c.text,
			};
		});
	const sources = [...new Set(checked.cited.map((n) => chunks[n - 1].source))];
	return { answer: checked.answer, citations, sources, invalidCitations: checked.invalid };
}

/**
 * Asks the chat model to answer `question` from `chunks` (one model call under the retry policy; none when no chunk
 * was retrieved). Usage is recorded in options.usage.
 */
export async function answerFromChunks(
	model: InvokableChatModel,
	question: string,
	chunks: readonly RetrievedChunk[],
	options: CallOptions & { usage?: UsageTracker; instructions?: string },
): Promise<Answer> {
	if (!chunks.length)
		return {
			answer: NOT_FOUND_ANSWER,
			found: false,
			citations: [],
			sources: [],
			invalidCitations: [],
		};
	const reply = await invokeChatModel(
		model,
		[new SystemMessage(answerPrompt(chunks, options.instructions)), new HumanMessage(question)],
		options,
	);
	const resolved = resolveCitations(messageText(reply), chunks);
	return { ...resolved, found: resolved.citations.length > 0 };
}
