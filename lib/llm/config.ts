/** The fields of the `OpenAgents LLM API` credential, as lib/llm needs them. */
export interface LlmConfig {
	/** API root serving /chat/completions, /embeddings and /models, e.g. https://api.openai.com/v1 */
	baseUrl: string;
	/** May be empty for servers without auth (a placeholder is then sent, as the OpenAI SDK requires one). */
	apiKey: string;
	chatModel: string;
	embeddingModel: string;
}

/** The credential's secrets, for redaction. */
export function secretsOf(config: Pick<LlmConfig, 'apiKey'>): string[] {
	return config.apiKey ? [config.apiKey] : [];
}
