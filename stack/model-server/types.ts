/** The subset of OpenAI's Chat Completions / Embeddings wire format this stand-in server understands. */

export interface ToolCall {
	id: string;
	type: 'function';
	function: { name: string; arguments: string };
}

export type MessageContent = string | null | Array<{ type: string; text?: string }>;

export interface ChatMessage {
	role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
	content?: MessageContent;
	tool_calls?: ToolCall[];
	tool_call_id?: string;
	name?: string;
}

export interface JsonSchema {
	type?: string | string[];
	properties?: Record<string, JsonSchema>;
	required?: string[];
	items?: JsonSchema;
	enum?: unknown[];
	const?: unknown;
	anyOf?: JsonSchema[];
	oneOf?: JsonSchema[];
	minItems?: number;
	default?: unknown;
	description?: string;
	[key: string]: unknown;
}

export interface ToolDefinition {
	type: 'function';
	function: { name: string; description?: string; parameters?: JsonSchema };
}

type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatRequest {
	model: string;
	messages: ChatMessage[];
	tools?: ToolDefinition[];
	tool_choice?: ToolChoice;
	response_format?: {
		type: 'text' | 'json_object' | 'json_schema';
		json_schema?: { name?: string; schema?: JsonSchema; strict?: boolean };
	};
	stream?: boolean;
	stream_options?: { include_usage?: boolean };
	[key: string]: unknown;
}

/** What the model "says": text, tool calls, or both. `arguments` may be an object or a raw (possibly malformed) string. */
export interface ModelReply {
	content?: string | null;
	toolCalls?: Array<{ name: string; arguments: unknown; id?: string }>;
	/** A reasoning model's thinking; a provider profile sends it as that provider does (or not at all). */
	reasoning?: string;
	/** Prompt tokens served from the provider's prompt cache (set by the server for profiles that report them). */
	cachedPromptTokens?: number;
}

export type ReplyHandler = (request: ChatRequest) => ModelReply | Promise<ModelReply>;
