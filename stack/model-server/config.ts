/**
 * The LLM configuration pointing at an offline model server: the fields of the `OpenAgents LLM API` credential
 * (lib/llm's LlmConfig), so the same object serves lib/ calls, in-process workflow credentials and n8n's API.
 */
import type { OfflineModelServer } from './server';

/** A type, not an interface: credential data is indexed by string (n8n's ICredentialDataDecryptedObject). */
type OfflineModelConfig = {
	baseUrl: string;
	/** '' unless overridden: the server accepts any key unless it was started with `apiKey`. */
	apiKey: string;
	chatModel: string;
	embeddingModel: string;
};

/**
 * The config for `server` (started: its base URL is read now) or for a server's base URL; `overrides` replace or add
 * fields (an API key, rate-limit or fallback settings). With a server, the models are the server's own defaults.
 */
export function offlineModelConfig<O extends object = object>(
	server: Pick<OfflineModelServer, 'baseUrl' | 'chatModel' | 'embeddingModel'> | string,
	overrides: O = {} as O,
): OfflineModelConfig & O {
	const base: OfflineModelConfig =
		typeof server === 'string'
			? {
					baseUrl: server,
					apiKey: '',
					chatModel: 'offline-chat',
					embeddingModel: 'offline-embedding',
				}
			: {
					baseUrl: server.baseUrl,
					apiKey: '',
					chatModel: server.chatModel,
					embeddingModel: server.embeddingModel,
				};
	return Object.assign(base, overrides);
}
