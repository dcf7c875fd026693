/**
 * A provider profile: how one provider's OpenAI-compatible API answers, replayed by the offline model server
 * (`new OfflineModelServer({ profile: 'groq' })`). The body shapes are its WireFormat; the rest is what the provider
 * does besides: its paths and auth, the requests it refuses, its rate-limit answer, its reasoning, its tool-call ids.
 */
import type { IncomingHttpHeaders } from 'node:http';

import type { ProviderLimit } from '../faults';
import type { WireFormat } from '../openai-format';
import type { ProviderId } from '../../../lib/llm/providers';
import type { ChatRequest, ModelReply, ToolCall } from '../types';

/** One profile per provider our side knows by name, and `default`: OpenAI's format without a provider's limits. */
export type ProfileName = Exclude<ProviderId, 'generic'> | 'default';

export type Route = 'chat' | 'embeddings' | 'models' | 'rerank';

/** An answer instead of the normal one: status, body (JSON unless `text`), headers. */
export interface Refusal {
	status: number;
	body: unknown;
	headers?: Record<string, string>;
	/** Send the body as plain text (Ollama's "404 page not found"). */
	text?: boolean;
}

/** What a profile's server remembers between requests (the provider's own memory of what it answered). */
export interface ProfileMemory {
	/** Reasoning the server sent with each tool call it made (DeepSeek wants it back); cleared past 1 000 calls. */
	reasoningOfToolCall: Map<string, string>;
	/** System prompts seen, for prompt-cache hits in usage; cleared past 1 000 prompts. */
	seenPrompts: Set<string>;
}

/** What the provider does when a request exceeds its rate limit. */
export type RateLimitBehaviour =
	/** 429 with the provider's headers and body; `waitMs` is when the next request would be let through. */
	| {
			kind: 'refuse';
			headers(waitMs: number, limit: ProviderLimit): Record<string, string>;
			body(waitMs: number, limit: ProviderLimit): unknown;
	  }
	/** The request waits its turn and is answered (local servers queue; no 429). */
	| { kind: 'queue' }
	/** The connection is held open with keep-alive blank lines / SSE comments until capacity frees (DeepSeek). */
	| { kind: 'keepalive' };

export interface ProviderProfile {
	readonly name: ProfileName;
	readonly label: string;
	readonly format: WireFormat;
	/** The path the base URL ends with, e.g. /v1, /openai/v1, /api/v1, /v1beta/openai. */
	readonly basePath: string;
	/** The models the server lists and answers as by default. */
	readonly models: { chat: string; embedding: string };
	/**
	 * The endpoint of a request path (without the query), or the provider's refusal (e.g. Azure without api-version);
	 * `model` when the path names it (an Azure deployment).
	 */
	resolve(
		path: string,
		query: URLSearchParams,
	): { route: Route | 'unknown'; model?: string } | Refusal;
	/** Whether the request carries `apiKey` the way this provider takes it. */
	authorized(headers: IncomingHttpHeaders, apiKey: string): boolean;
	unauthorized(): Refusal;
	notFound(method: string, path: string): Refusal;
	/** A chat request this provider refuses (unsupported parameter, id format, missing reasoning); else undefined. */
	refuseChat(request: ChatRequest, memory: ProfileMemory): Refusal | undefined;
	/** An embeddings request this provider refuses (too many inputs, unknown parameter); else undefined. */
	refuseEmbeddings(body: Record<string, unknown>): Refusal | undefined;
	/** True when the provider answers floats whatever `encoding_format` asks. */
	readonly ignoresEncodingFormat: boolean;
	/** Whether /rerank is served (Cohere's shape). */
	readonly rerank: boolean;
	/** The reasoning a reasoning model of this provider thinks before `reply` (undefined: none). */
	reasoning(request: ChatRequest, reply: ModelReply): string | undefined;
	/** The reply as this provider's model gives it (e.g. one tool call per turn). */
	shapeReply(reply: ModelReply): ModelReply;
	/** A new tool-call id as this provider makes them ('' when it sends none); absent: call_<n>. */
	toolCallId?(): string;
	/** Records what a later request is checked against (tool calls made with reasoning). */
	remember(reply: ModelReply, toolCalls: ToolCall[] | undefined, memory: ProfileMemory): void;
	readonly rateLimit: RateLimitBehaviour;
	/** The refusal of a prompt of `requested` tokens over a window of `window`; undefined: the provider truncates. */
	contextError(window: number, requested: number): Refusal | undefined;
}
