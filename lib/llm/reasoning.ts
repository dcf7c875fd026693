/**
 * A reasoning model's thinking, wherever the provider puts it, kept apart from its answer. Providers send it in a field
 * of its own (`reasoning_content`: DeepSeek, older vLLM, LM Studio; `reasoning`: Ollama, vLLM ≥ 0.10, OpenRouter,
 * Groq's parsed format), as typed `thinking` parts of the content (Mistral's Magistral), or — local reasoning models
 * without a reasoning parser, Groq's default raw format — as a `<think>…</think>` block at the start of the text.
 * The block never reaches an answer, a citation or structured output: it is split off here, on the wire for the
 * clients we build and again on every reply (connected chat models included).
 */

/** Tags that open a leading reasoning block. */
const OPEN = /^<(think|thinking)>/i;
/** The longest opening or closing tag, for holding back a tag split across stream pieces. */
const LONGEST_TAG = '</thinking>'.length;

export interface SplitText {
	/** The answer: the text without its reasoning block. */
	text: string;
	/** The reasoning block's content ('' when there was none). */
	reasoning: string;
}

/**
 * `text` split into answer and reasoning: a leading `<think>…</think>` (or `<thinking>`) block, or — some chat
 * templates put the opening tag in the prompt — everything before a `</think>` that has no opening tag. An unclosed
 * leading block is all reasoning (the model was cut off while thinking).
 */
export function splitReasoning(text: string): SplitText {
	const start = text.search(/\S/);
	const rest = start < 0 ? '' : text.slice(start);
	const open = OPEN.exec(rest);
	if (open) {
		const close = rest.search(new RegExp(`</${open[1]}>`, 'i'));
		if (close < 0) return { text: '', reasoning: rest.slice(open[0].length).trim() };
		return {
			reasoning: rest.slice(open[0].length, close).trim(),
			text: rest.slice(close + open[1].length + 3).replace(/^\s+/, ''),
		};
	}
	// A closing tag followed by a line break (as chat templates end the block), not quoted in code.
	const closeOnly = /(?<!`)<\/(think|thinking)>(?=\s*(\n|$))/i.exec(text);
	if (closeOnly && !/<(think|thinking)>/i.test(text.slice(0, closeOnly.index)))
		return {
			reasoning: text.slice(0, closeOnly.index).trim(),
			text: text.slice(closeOnly.index + closeOnly[0].length).replace(/^\s+/, ''),
		};
	return { text, reasoning: '' };
}

/**
 * The same split over a stream of text pieces: `push(piece)` returns what of it is answer (possibly '' while a tag
 * could still be starting), `end()` what is left. Only a block at the very start of the text is reasoning.
 */
export class ReasoningSplitter {
	private state: 'start' | 'thinking' | 'answer' = 'start';

	/** Text not yet classified: the start (before the first non-space), or a possible closing tag. */
	private held = '';

	private tag = 'think';

	/** The reasoning seen so far. */
	reasoning = '';

	/** Whether the block's closing tag still has to be followed by the spaces it is usually followed by. */
	private trimNext = false;

	push(piece: string): string {
		if (!piece) return '';
		if (this.state === 'answer') return this.answer(piece);
		this.held += piece;
		if (this.state === 'start') {
			const rest = this.held.replace(/^\s+/, '');
			if (!rest) return '';
			const open = OPEN.exec(rest);
			if (open) {
				this.tag = open[1];
				this.state = 'thinking';
				this.held = rest.slice(open[0].length);
			} else if ('<thinking>'.startsWith(rest.toLowerCase())) {
				return ''; // could still become an opening tag
			} else {
				this.state = 'answer';
				const all = this.held;
				this.held = '';
				return all;
			}
		}
		const close = this.held.toLowerCase().indexOf(`</${this.tag.toLowerCase()}>`);
		if (close < 0) {
			// Keep what could be the start of the closing tag; the rest is reasoning.
			const keep = Math.min(this.held.length, LONGEST_TAG - 1);
			this.reasoning += this.held.slice(0, this.held.length - keep);
			this.held = this.held.slice(this.held.length - keep);
			return '';
		}
		this.reasoning += this.held.slice(0, close);
		const after = this.held.slice(close + this.tag.length + 3);
		this.held = '';
		this.state = 'answer';
		this.trimNext = true;
		return this.answer(after);
	}

	/** What is left at the end: held text of an unfinished start (answer), or of an unclosed block (reasoning). */
	end(): string {
		const held = this.held;
		this.held = '';
		if (this.state === 'thinking') {
			this.reasoning += held;
			return '';
		}
		return this.state === 'start' ? held : '';
	}

	private answer(piece: string): string {
		if (!this.trimNext) return piece;
		const trimmed = piece.replace(/^\s+/, '');
		if (trimmed) this.trimNext = false;
		return trimmed;
	}
}
