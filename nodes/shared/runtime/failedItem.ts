/**
 * The failed-item rule of every node of this package: one message shape, a hint per error code, pairedItem.
 *
 * - Without Continue On Fail: throws `NodeOperationError("Item <i>: <message>", { itemIndex, description })`, the
 *   error's code (when it has one) in its `context.code`.
 * - With Continue On Fail: returns the item `{ json: { error: "Item <i>: <message>", code, ...details }, pairedItem }`.
 *
 * The description (shown under the error in n8n) is the description the error already carries (a NodeOperationError
 * raised by a shared helper, e.g. an invalid Retry Policy), else the node's hint for the error's code, else the
 * node's fallback hint.
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import { redactText } from '../../../lib/llm/redact';

/** What a node knows about its errors. */
export interface ErrorRule {
	/** What to do about an error, by its `code` (lib errors carry one, e.g. RagError's UNKNOWN_KNOWLEDGE_BASE). */
	hints: Partial<Record<string, string>>;
	/** The hint when the code has none, e.g. `Knowledge Base "query" failed.` */
	fallback: string;
}

export interface ItemFailure {
	/** The error's code; default: the error's own string `code` property. */
	code?: string;
	/** Appended to the hint, e.g. "Usage so far: 2 model calls, 120 tokens." */
	note?: string;
	/** Added to the Continue On Fail item (partial result, usage, …). */
	details?: IDataObject;
	/** Values redacted from the message (API keys). */
	secrets?: readonly string[];
}

/** The string `code` property of an error, if it has one. */
function errorCode(error: unknown): string | undefined {
	const code = (error as { code?: unknown } | undefined)?.code;
	return typeof code === 'string' ? code : undefined;
}

/** Throws the item's NodeOperationError, or returns its Continue On Fail item (see the file comment). */
export function failedItem(
	fn: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
	rule: ErrorRule,
	failure: ItemFailure = {},
): INodeExecutionData {
	const cause = error instanceof Error ? error : new Error(String(error));
	const code = failure.code ?? errorCode(cause);
	const message = `Item ${itemIndex}: ${redactText(cause.message, failure.secrets ?? [])}`;
	if (!fn.continueOnFail()) {
		const own = cause instanceof NodeOperationError ? cause.description : undefined;
		const hint = own || (code && rule.hints[code]) || rule.fallback;
		const thrown = new NodeOperationError(fn.getNode(), message, {
			itemIndex,
			description: failure.note ? `${hint} ${failure.note}` : hint,
		});
		// n8n replaces a message naming a network code (ECONNREFUSED, ETIMEDOUT, …) with its own words, which drop
		// the server (host:port) the message names; the message stays ours, the hint says what to do.
		thrown.message = message;
		// The code also where only the thrown error is kept (n8n's execution record, an Error Trigger, Job Monitor):
		// without it a failed execution tells its cause only in words.
		if (code) thrown.context.code = code;
		throw thrown;
	}
	return {
		json: { error: message, code: code ?? null, ...failure.details },
		pairedItem: { item: itemIndex },
	};
}
