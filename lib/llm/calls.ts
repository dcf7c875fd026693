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
import {
	contentAttribute,
	GEN_AI,
	GEN_AI_OPERATION,
	inSpan,
	OPENAGENTS,
	recordRetry,
	recordsContent,
} from '../tracing';
import type { Attributes, Span } from '@opentelemetry/api';
import { estimateTokens, rateLimitGate, type RateLimit } from './limit';
import { ReasoningSplitter } from './reasoning';
import { redactError, redactText } from './redact';
import { estimateUsage, hasReportedUsage, normalizeReply } from './replies';
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
	/** The provider limit every worker shares; each attempt waits for a slot first (at most timeoutMs). */
	rateLimit?: RateLimit;
	/** Receives tokens, cost, the answering model and rate-limit waits. */
	usage?: UsageTracker;
	/**
	 * Chat models tried in order when the model keeps failing after its retries (timeouts, connection failures, 429,
	 * 5xx, no rate-limit slot in time); each under the same retry policy and rate limit.
	 */
	fallbacks?: readonly InvokableChatModel[];
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

/**
 * The model's reply streamed: each text delta goes to `onText` (a leading reasoning block held back, see
 * ReasoningSplitter); returns the whole reply (tool calls included).
 */
async function streamReply(
	model: InvokableChatModel,
	input: BaseLanguageModelInput,
	signal: AbortSignal,
	onText: (delta: string) => void,
): Promise<AIMessage> {
	let reply: AIMessageChunk | undefined;
	const answer = new ReasoningSplitter();
	for await (const chunk of await model.stream!(input, { signal })) {
		reply = reply ? reply.concat(chunk) : chunk;
		const delta = answer.push(messageText(chunk));
		if (delta) onText(delta);
	}
	const rest = answer.end();
	if (rest) onText(rest);
	if (!reply) throw new Error('The model sent an empty stream');
	return reply;
}

/** Logs a retry (secrets redacted) and records it as a `retry` event on the call's span. */
function retryLogger(what: string, options: CallOptions, span: Span) {
	const secrets = options.secrets ?? [];
	return ({ attempt, error, delayMs }: { attempt: number; error: unknown; delayMs: number }) => {
		const message = redactText(messageOf(error), secrets);
		recordRetry(span, { attempt, delayMs, message });
		options.usage?.recordRetry();
		options.log?.(
			`${what} failed (attempt ${attempt}), retrying in ${Math.round(delayMs)} ms: ${message}`,
		);
	};
}

/** The model name a LangChain model was configured with (also through bindTools' RunnableBinding), if any. */
function modelNameOf(model: unknown): string | undefined {
	const m = model as { model?: unknown; modelName?: unknown; bound?: unknown } | undefined;
	if (typeof m?.model === 'string' && m.model) return m.model;
	if (typeof m?.modelName === 'string' && m.modelName) return m.modelName;
	return m?.bound ? modelNameOf(m.bound) : undefined;
}

/** The span name and attributes of one model request (GenAI semantic conventions: "{operation} {model}"). */
function modelSpan(operation: string, modelName: string | undefined): [string, Attributes] {
	return [
		modelName ? `${operation} ${modelName}` : operation,
		{
			[GEN_AI.operationName]: operation,
			[GEN_AI.providerName]: 'openai', // every server we call speaks the OpenAI API
			...(modelName ? { [GEN_AI.requestModel]: modelName } : {}),
		},
	];
}

const ROLES: Record<string, string> = { human: 'user', ai: 'assistant' };

/** Chat input as GenAI semantic conventions' message list ({ role, parts }), for Record Content. */
function messagesAttribute(input: BaseLanguageModelInput): string {
	const list = Array.isArray(input) ? input : [input];
	return contentAttribute(
		list.map((message) => {
			const m = message as {
				getType?: () => string;
				content?: unknown;
				tool_calls?: Array<{ id?: string; name: string; args: unknown }>;
			};
			const type = typeof m.getType === 'function' ? m.getType() : 'user';
			return {
				role: ROLES[type] ?? type,
				parts: [
					// A plain string input is its own content.
					{ type: 'text', content: typeof m.content === 'string' ? m.content : (m.content ?? m) },
					...(m.tool_calls ?? []).map((call) => ({
						type: 'tool_call',
						id: call.id,
						name: call.name,
						arguments: call.args,
					})),
				],
			};
		}),
	);
}

/** Records a successful chat reply on its span: response model, finish reason, tokens, and (Record Content) text. */
function recordReply(span: Span, message: AIMessage): void {
	const metadata = (message.response_metadata ?? {}) as Record<string, unknown>;
	const model = metadata.model_name ?? metadata.model;
	if (typeof model === 'string') span.setAttribute(GEN_AI.responseModel, model);
	if (typeof metadata.finish_reason === 'string')
		span.setAttribute(GEN_AI.finishReasons, [metadata.finish_reason]);
	if (message.id) span.setAttribute(GEN_AI.responseId, message.id);
	span.setAttribute(GEN_AI.inputTokens, message.usage_metadata?.input_tokens ?? 0);
	span.setAttribute(GEN_AI.outputTokens, message.usage_metadata?.output_tokens ?? 0);
	if (recordsContent()) span.setAttribute(GEN_AI.outputMessages, messagesAttribute([message]));
}

/** Characters of a chat input (message contents and tool-call arguments), for the rate limiter's token estimate. */
function inputCharacters(input: BaseLanguageModelInput): number {
	const list = Array.isArray(input) ? input : [input];
	return list.reduce<number>((sum, message) => {
		const m = message as { content?: unknown; tool_calls?: unknown };
		const content = typeof message === 'string' ? message : m.content;
		return (
			sum +
			(typeof content === 'string' ? content.length : JSON.stringify(content ?? '').length) +
			(m.tool_calls ? JSON.stringify(m.tool_calls).length : 0)
		);
	}, 0);
}

/** The name the provider answered with (e.g. a dated snapshot), else the requested one. */
function answeringModel(message: AIMessage, requested: string | undefined): string | undefined {
	const metadata = (message.response_metadata ?? {}) as Record<string, unknown>;
	const name = metadata.model_name ?? metadata.model;
	return typeof name === 'string' && name ? name : requested;
}

/** Whether a failure of one model (after its retries) is a reason to try the next: the provider, not the request. */
function fallbackWorthy(error: unknown, options: CallOptions): boolean {
	const code = modelFailureCode(error);
	return !options.signal?.aborted && code !== undefined && code !== 'context_length_exceeded';
}

/**
 * One chat completion under the retry policy and rate limit; records tokens, cost and the answering model in
 * `options.usage`. When the model keeps failing for reasons of the provider (see `fallbacks`), the fallback models are
 * tried in order. With `onText` and a model that can stream, the reply is streamed and each text delta passed on as it
 * arrives; once text was passed on, the call is neither retried nor handed to a fallback (the receiver cannot take it
 * back). Each model's request is traced as a `chat {model}` span (GenAI semantic conventions; retries as events).
 * Throws the last model's error (non-retryable, RetryExhaustedError, or RateLimitWaitError), secrets redacted.
 */
export async function invokeChatModel(
	model: InvokableChatModel,
	input: BaseLanguageModelInput,
	options: CallOptions & { onText?: (delta: string) => void },
): Promise<AIMessage> {
	const models = [model, ...(options.fallbacks ?? [])];
	const state = { streamed: false };
	for (let i = 0; ; i++) {
		try {
			return await invokeOne(models[i], input, options, state);
		} catch (error) {
			if (i === models.length - 1 || state.streamed || !fallbackWorthy(error, options))
				throw redactError(error, options.secrets ?? []);
			options.log?.(
				`chat model ${modelNameOf(models[i]) ?? i + 1} failed, trying fallback model ${modelNameOf(models[i + 1]) ?? i + 2}: ${redactText(messageOf(error), options.secrets ?? [])}`,
			);
		}
	}
}

async function invokeOne(
	model: InvokableChatModel,
	input: BaseLanguageModelInput,
	options: CallOptions & { onText?: (delta: string) => void },
	state: { streamed: boolean },
): Promise<AIMessage> {
	const { onText } = options;
	const modelName = modelNameOf(model);
	const [name, attributes] = modelSpan(GEN_AI_OPERATION.chat, modelName);
	return inSpan(name, attributes, async (span) => {
		if (recordsContent()) span.setAttribute(GEN_AI.inputMessages, messagesAttribute(input));
		const gate = rateLimitGate(options, modelName, estimateTokens(inputCharacters(input)));
		const message = await withRetry(
			({ signal, attempt }) => (
				span.setAttribute(OPENAGENTS.attempts, attempt),
				gate.run(
					() =>
						onText && model.stream
							? streamReply(model, input, signal, (delta) => {
									state.streamed = true;
									onText(delta);
								})
							: model.invoke(input, { signal }),
					(reply) => reply.usage_metadata?.total_tokens,
				)
			),
			options.policy,
			{
				signal: options.signal,
				timeoutMs: options.timeoutMs,
				onRetry: retryLogger('chat model call', options, span),
				isRetryable: (error) => !state.streamed && isRetryableError(error),
				beforeAttempt: gate.beforeAttempt,
			},
		);
		const reply = normalizeReply(message, input);
		const reported = hasReportedUsage(reply);
		if (!reported) reply.usage_metadata = estimateUsage(input, reply);
		options.usage?.record(reply.usage_metadata, answeringModel(reply, modelName), {
			estimated: !reported,
		});
		recordReply(span, reply);
		return reply;
	});
}

interface EmbedOptions extends CallOptions {
	/** Texts per request (default 100). */
	batchSize?: number;
	/** Requests in flight at once (default 2). */
	concurrency?: number;
	/**
	 * Called with each batch's vectors as soon as they arrive (`start`: index of the batch's first text), without
	 * holding up the next requests, so a caller can write one batch while the next is embedded. embedTexts resolves
	 * once every call has settled and rejects with the first that failed.
	 */
	onBatch?: (vectors: number[][], start: number) => Promise<void>;
}

interface EmbedResult {
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
 * policy and traced as an `embeddings {model}` span. Results keep the input order. Throws the first failing batch's
 * error (secrets redacted).
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
	const modelName = modelNameOf(embeddings);
	const embeddingSpan = modelSpan(GEN_AI_OPERATION.embeddings, modelName);
	let calls = 0;
	const handled: Array<Promise<void>> = [];
	try {
		const results = await mapWithConcurrency(batches, options.concurrency ?? 2, (batch, index) =>
			inSpan(
				embeddingSpan[0],
				{ ...embeddingSpan[1], [OPENAGENTS.embeddingTexts]: batch.length },
				async (span) => {
					// Embedding APIs bill input tokens only, and LangChain does not pass their count on: estimated.
					const tokens = estimateTokens(batch.reduce((sum, text) => sum + text.length, 0));
					const gate = rateLimitGate(options, modelName, tokens);
					const vectors = await withRetry(
						({ signal, attempt }) => (
							span.setAttribute(OPENAGENTS.attempts, attempt),
							gate.run(() => withAttemptSignal(signal, () => embeddings.embedDocuments(batch)))
						),
						options.policy,
						{
							signal: options.signal,
							timeoutMs: options.timeoutMs,
							onRetry: retryLogger(`embedding batch ${index + 1}/${batches.length}`, options, span),
							beforeAttempt: gate.beforeAttempt,
						},
					);
					options.usage?.recordEmbedding(tokens, modelName);
					if (vectors.length !== batch.length)
						throw new Error(
							`The embeddings API returned ${vectors.length} vectors for ${batch.length} texts`,
						);
					calls++;
					if (options.onBatch) {
						const done = options.onBatch(vectors, index * batchSize);
						done.catch(() => undefined); // awaited below, after the other batches
						handled.push(done);
					}
					return vectors;
				},
			),
		);
		await Promise.all(handled);
		return { vectors: results.flat(), calls };
	} catch (error) {
		throw redactError(error, options.secrets ?? []);
	}
}

/**
 * How providers word a prompt too long for the model: OpenAI and Groq (`context_length_exceeded`), vLLM and DeepSeek
 * ("maximum context length is N tokens"), Mistral ("too large for model with N maximum context length"), Gemini ("input
 * token count … exceeds the maximum"), llama.cpp / LM Studio ("greater than the context length"), Anthropic-style
 * gateways ("prompt is too long").
 */
const CONTEXT_LENGTH =
	/context_length_exceeded|maximum context length|context length|context window|exceeds the maximum number of tokens|input token count .* exceeds|prompt is too long|too many tokens/i;

/** Whether `error` is the provider refusing a prompt longer than the model's context window (not worth retrying). */
function isContextLengthError(error: unknown): boolean {
	const status = httpStatusOf(error);
	if (status !== undefined && status !== 400 && status !== 413 && status !== 422) return false;
	return errorChain(error).some((e) => {
		const body = (e as { error?: { code?: unknown; message?: unknown } }).error;
		return (
			CONTEXT_LENGTH.test(String(e.message ?? '')) ||
			CONTEXT_LENGTH.test(String(body?.code ?? '')) ||
			CONTEXT_LENGTH.test(String(body?.message ?? ''))
		);
	});
}

/**
 * What a failed model call came to, for error codes: `rate_limited` (no rate-limit slot within the timeout),
 * `model_timeout` (no answer within the per-attempt timeout), `model_unavailable` (the connection failed or was
 * dropped), `model_error` (the server answered with an error status), `context_length_exceeded` (the prompt does
 * not fit the model's context window; never retried or handed to a fallback), or undefined for anything else (bad
 * request, our own errors).
 */
export function modelFailureCode(
	error: unknown,
):
	| 'rate_limited'
	| 'model_timeout'
	| 'model_unavailable'
	| 'model_error'
	| 'context_length_exceeded'
	| undefined {
	const chain = errorChain(error);
	if (chain.some((e) => e.name === 'RateLimitWaitError')) return 'rate_limited';
	if (chain.some((e) => e.name === 'AttemptTimeoutError')) return 'model_timeout';
	if (isContextLengthError(error)) return 'context_length_exceeded';
	const status = httpStatusOf(error);
	if (status !== undefined) return status >= 500 || status === 429 ? 'model_error' : undefined;
	return isRetryableError(error) ? 'model_unavailable' : undefined;
}
