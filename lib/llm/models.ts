import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';

import { signalAwareFetch } from '../retry/attempt-signal';
import type { LlmConfig } from './config';

/** The OpenAI SDK refuses an empty key; servers without auth (Ollama, vLLM) ignore this placeholder. */
const NO_KEY = 'not-needed';

/**
 * Client fields both LangChain classes share: maxRetries 0 because our retry policy does the retrying, and a fetch
 * that aborts with the current attempt (calls such as embedDocuments take no signal of their own).
 */
function clientFields(config: LlmConfig) {
	return {
		apiKey: config.apiKey || NO_KEY,
		configuration: { baseURL: config.baseUrl, fetch: signalAwareFetch() },
		maxRetries: 0,
	};
}

interface ChatModelOptions {
	/** Overrides the credential's default chat model. */
	model?: string;
	temperature?: number;
	maxTokens?: number;
}

/**
 * A LangChain ChatOpenAI for any OpenAI-compatible server. LangChain's own retries are off (maxRetries 0):
 * calls go through invokeChatModel, which retries under our policy, so attempts are never multiplied.
 */
export function createChatModel(config: LlmConfig, options: ChatModelOptions = {}): ChatOpenAI {
	return new ChatOpenAI({
		...clientFields(config),
		model: options.model || config.chatModel,
		temperature: options.temperature,
		maxTokens: options.maxTokens,
		streamUsage: true,
	});
}

interface EmbeddingsOptions {
	/** Overrides the credential's default embedding model. */
	model?: string;
	/** Output dimensions, for models that support shortening (text-embedding-3-*). */
	dimensions?: number;
	/** Texts per request; embedTexts sends exactly one request per batch. */
	batchSize?: number;
}

/** A LangChain OpenAIEmbeddings for any OpenAI-compatible server, with LangChain's retries off (see createChatModel). */
export function createEmbeddings(
	config: LlmConfig,
	options: EmbeddingsOptions = {},
): OpenAIEmbeddings {
	return new OpenAIEmbeddings({
		...clientFields(config),
		model: options.model || config.embeddingModel,
		dimensions: options.dimensions,
		batchSize: options.batchSize ?? 512,
	});
}
