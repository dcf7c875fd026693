import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';

import type { LlmConfig } from './config';
import { providerFetch } from './provider-fetch';
import { resolveProvider } from './providers';

/** The OpenAI SDK refuses an empty key; servers without auth (Ollama, vLLM) ignore this placeholder. */
const NO_KEY = 'not-needed';

/**
 * Client fields both LangChain classes share: maxRetries 0 because our retry policy does the retrying, and the
 * provider's fetch (providerFetch: its dialect made OpenAI's, aborted with the current attempt, since calls such as
 * embedDocuments take no signal of their own).
 */
function clientFields(config: LlmConfig) {
	return {
		apiKey: config.apiKey || NO_KEY,
		configuration: { baseURL: config.baseUrl, fetch: providerFetch(config) },
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
	/** Texts per request (capped at the provider's limit); embedTexts sends one call per batch. */
	batchSize?: number;
	/**
	 * What the texts are, for models trained with task prefixes (see embeddingPrefix): `document` (default: stored
	 * chunks) or `query` (a search).
	 */
	purpose?: 'document' | 'query';
}

/**
 * The task prefixes of embedding models that need one (document, query). nomic-embed-text: "search_document: " /
 * "search_query: " (https://huggingface.co/nomic-ai/nomic-embed-text-v1, read 2026-12-06); E5: "passage: " /
 * "query: " (https://huggingface.co/intfloat/e5-base-v2); mxbai-embed-large: queries only
 * (https://huggingface.co/mixedbread-ai/mxbai-embed-large-v1).
 */
const PREFIXES: Array<[RegExp, { document: string; query: string }]> = [
	[/nomic-embed-text/i, { document: 'search_document: ', query: 'search_query: ' }],
	[/(^|[/:-])(multilingual-)?e5(-|$)/i, { document: 'passage: ', query: 'query: ' }],
	[
		/mxbai-embed-large/i,
		{ document: '', query: 'Represent this sentence for searching relevant passages: ' },
	],
];

/** The prefix `model` expects before a text of `purpose` ('' for models without task prefixes). */
function embeddingPrefix(model: string, purpose: 'document' | 'query'): string {
	return PREFIXES.find(([pattern]) => pattern.test(model))?.[1][purpose] ?? '';
}

/** OpenAIEmbeddings that puts the model's task prefix before each text (one it already starts with is kept). */
class PrefixedEmbeddings extends OpenAIEmbeddings {
	constructor(
		fields: ConstructorParameters<typeof OpenAIEmbeddings>[0],
		private readonly prefix: string,
	) {
		super(fields);
	}

	override embedDocuments(texts: string[]): Promise<number[][]> {
		return super.embedDocuments(
			texts.map((t) => (t.startsWith(this.prefix) ? t : this.prefix + t)),
		);
	}

	override embedQuery(text: string): Promise<number[]> {
		return super.embedQuery(text.startsWith(this.prefix) ? text : this.prefix + text);
	}
}

/**
 * A LangChain OpenAIEmbeddings for any OpenAI-compatible server, with LangChain's retries off (see createChatModel),
 * requests of at most the provider's inputs limit, the encoding the provider honours (servers that ignore
 * `encoding_format` answer floats, which the SDK's default base64 would decode into a quarter of the vector), and the
 * model's task prefix.
 */
export function createEmbeddings(
	config: LlmConfig,
	options: EmbeddingsOptions = {},
): OpenAIEmbeddings {
	const provider = resolveProvider(config).embeddings;
	const model = options.model || config.embeddingModel;
	const batchSize = Math.min(options.batchSize ?? 512, provider.maxInputs ?? Infinity);
	const fields = {
		...clientFields(config),
		model,
		dimensions: options.dimensions,
		batchSize,
		...(provider.encoding === 'float' ? { encodingFormat: 'float' as const } : {}),
	};
	const prefix = embeddingPrefix(model, options.purpose ?? 'document');
	return prefix ? new PrefixedEmbeddings(fields, prefix) : new OpenAIEmbeddings(fields);
}
