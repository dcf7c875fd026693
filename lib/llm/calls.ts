import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import type { AIMessage, AIMessageChunk } from '@langchain/core/messages';

import { mapWithConcurrency } from '../concurrency';
import {
	errorChain,
	httpStatusOf,
	isRetryableError,
	messageOf,
	withAttemptSignal,
	withRetry,
	type RetryPolicy,
} from '../retry';
import { redactError, redactText } from './redact';
import type { UsageTracker } from './usage';

export interface CallOptions {
	policy: RetryPolicy;
	/** Cancels waits and in-flight requests (n8n: getExecutionCancelSignal()). */
	signal?: AbortSignal;
	/** Per-attempt time limit, ms. */
	timeoutMs?: number;
	/** Redacted from every error and log line (the credential's API key). */
	secrets?: readonly string[];
	/** Receives one line per retry, e.g. "chat model call failed (attempt 1), retrying in 1000 ms: 429 ...". */
	log?: (line: string) => void;
}

/** The text of a model reply: its string content, or its text parts joined (tool-call and image parts skipped). */
export function messageText(message: AIMessage): string {
	if (typeof message.content === 'string') return message.content;
	return message.content
		.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : ''))
		.join('');
}

/**
 * Anything with LangChain's Runnable `invoke(input, { signal })` returning an AIMessage (a chat model, or one with
 * tools bound); `stream` too when it can stream.
 */
export interface InvokableChatModel {
	invoke(input: BaseLanguageModelInput, options?: { signal?: AbortSignal }): Promise<AIMessage>;
	stream?(
		input: BaseLanguageModelInput,
		options?: { signal?: AbortSignal },
	): Promise<AsyncIterable<AIMessageChunk>>;
}

/** The model's reply streamed: each text delta goes to `onText`; returns the whole reply (tool calls included). */
async function streamReply(
	model: InvokableChatModel,
	input: BaseLanguageModelInput,
	signal: AbortSignal,
	onText: (delta: string) => void,
): Promise<AIMessage> {
	let reply: AIMessageChunk | undefined;
	for await (const chunk of await model.stream!(input, { signal })) {
		reply = reply ? reply.concat(chunk) : chunk;
		const delta = messageText(chunk);
		if (delta) onText(delta);
	}
	if (!reply) throw new Error('The model sent an empty stream');
	return reply;
}

function retryLogger(what: string, options: CallOptions) {
	const secrets = options.secrets ?? [];
	return ({ attempt, error, delayMs }: { attempt: number; error: unknown; delayMs: number }) =>
		options.log?.(
			redactText(
				`${what} failed (attempt ${attempt}), retrying in ${Math.round(delayMs)} ms: ${messageOf(error)}`,
				secrets,
			),
		);
}

/**
 * One chat completion under the retry policy; records token usage of the successful attempt in `usage`. With
 * `onText` and a model that can stream, the reply is streamed and each text delta passed on as it arrives; an
 * attempt that already passed text on is not retried (the receiver cannot take it back).
 * Throws the last error (non-retryable) or RetryExhaustedError, with secrets redacted.
 */
export async function invokeChatModel(
	model: InvokableChatModel,
	input: BaseLanguageModelInput,
	options: CallOptions & { usage?: UsageTracker; onText?: (delta: string) => void },
): Promise<AIMessage> {
	const { onText } = options;
	let streamed = false;
	try {
		const message = await withRetry(
			({ signal }) =>
				onText && model.stream
					? streamReply(model, input, signal, (delta) => {
							streamed = true;
							onText(delta);
						})
					: model.invoke(input, { signal }),
			options.policy,
			{
				signal: options.signal,
				timeoutMs: options.timeoutMs,
				onRetry: retryLogger('chat model call', options),
				isRetryable: (error) => !streamed && isRetryableError(error),
			},
		);
		options.usage?.record(message.usage_metadata);
		return message;
	} catch (error) {
		throw redactError(error, options.secrets ?? []);
	}
}

export interface EmbedOptions extends CallOptions {
	/** Texts per request (default 100). */
	batchSize?: number;
	/** Requests in flight at once (default 2). */
	concurrency?: number;
}

export interface EmbedResult {
	/** One vector per input text, in input order. */
	vectors: number[][];
	/** Successful embedding requests made (one per batch). */
	calls: number;
}

/** Anything with LangChain's Embeddings `embedDocuments`. */
export interface DocumentEmbedder {
	embedDocuments(texts: string[]): Promise<number[][]>;
}

/**
 * Embeds `texts` in batches of `batchSize`, at most `concurrency` batches at once, each batch retried under the
 * policy. Results keep the input order. Throws the first failing batch's error (secrets redacted).
 */
export async function embedTexts(
	embeddings: DocumentEmbedder,
	texts: readonly string[],
	options: EmbedOptions,
): Promise<EmbedResult> {
	const batchSize = options.batchSize ?? 100;
	if (!Number.isInteger(batchSize) || batchSize < 1)
		throw new RangeError(`batchSize must be a whole number ≥ 1, got ${batchSize}`);
	const batches: string[][] = [];
	for (let i = 0; i < texts.length; i += batchSize) batches.push(texts.slice(i, i + batchSize));
	let calls = 0;
	try {
		const results = await mapWithConcurrency(
			batches,
			options.concurrency ?? 2,
			async (batch, index) => {
				const vectors = await withRetry(
					({ signal }) => withAttemptSignal(signal, () => embeddings.embedDocuments(batch)),
					options.policy,
					{
						signal: options.signal,
						timeoutMs: options.timeoutMs,
						onRetry: retryLogger(`embedding batch ${index + 1}/${batches.length}`, options),
					},
				);
				if (vectors.length !== batch.length)
					throw new Error(
						`The embeddings API returned ${vectors.length} vectors for ${batch.length} texts`,
					);
				calls++;
				return vectors;
			},
		);
		return { vectors: results.flat(), calls };
	} catch (error) {
		throw redactError(error, options.secrets ?? []);
	}
}

/**
 * What a failed model call came to, for error codes: `model_timeout` (no answer within the per-attempt timeout),
 * `model_unavailable` (the connection failed or was dropped), `model_error` (the server answered with an error
 * status), or undefined for anything else (bad request, our own errors).
 */
export function modelFailureCode(
	error: unknown,
): 'model_timeout' | 'model_unavailable' | 'model_error' | undefined {
	const chain = errorChain(error);
	if (chain.some((e) => e.name === 'AttemptTimeoutError')) return 'model_timeout';
	const status = httpStatusOf(error);
	if (status !== undefined) return status >= 500 || status === 429 ? 'model_error' : undefined;
	return isRetryableError(error) ? 'model_unavailable' : undefined;
}
