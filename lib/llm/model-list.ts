/**
 * The models an OpenAI-compatible server lists (GET /models: `{ data: [{ id, owned_by }] }`), for pickers in the
 * editor. Servers that list nothing (some proxies answer 404) get a ModelListError saying to type the name instead.
 *
 * A plain request under our Retry Policy rather than the OpenAI SDK's client, which retries on its own and would
 * multiply our retries.
 */
import {
	httpStatusOf,
	messageOf,
	RetryExhaustedError,
	withRetry,
	type RetryPolicy,
} from '../retry';
import type { LlmConfig } from './config';
import { providerFetch } from './provider-fetch';
import { redactText } from './redact';

export interface ListedModel {
	id: string;
	/** `owned_by` as the server reports it (e.g. "openai", "library"), when it does. */
	ownedBy?: string;
}

interface ListModelsOptions {
	policy: RetryPolicy;
	signal?: AbortSignal;
	/** Per-attempt limit, ms (default 15 000: a picker should answer quickly or say why not). */
	timeoutMs?: number;
}

class ModelListError extends Error {
	override readonly name = 'ModelListError';
	constructor(
		message: string,
		/** HTTP status of the server's answer, when it answered. */
		readonly status?: number,
	) {
		super(message);
	}
}

/**
 * Every model of the server, sorted by id. Throws ModelListError naming the server and the cause (the API key
 * redacted): 401/403 = the key was refused, 404 = the server has no /models (type the model name instead).
 */
export async function listModels(
	config: Pick<LlmConfig, 'baseUrl' | 'apiKey' | 'provider' | 'apiVersion'>,
	options: ListModelsOptions,
): Promise<ListedModel[]> {
	const url = `${config.baseUrl.replace(/\/+$/, '')}/models`;
	// The provider's fetch: Azure's api-key header and api-version, error bodies of every shape made OpenAI's.
	const request = providerFetch({ chatModel: '', embeddingModel: '', ...config }, fetch);
	try {
		const models = await withRetry(
			async ({ signal }) => {
				const response = await request(url, {
					signal,
					headers: {
						accept: 'application/json',
						...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
					},
				});
				const text = await response.text();
				if (!response.ok)
					throw Object.assign(new Error(`${response.status} ${text.slice(0, 200)}`.trim()), {
						status: response.status,
					});
				const listed = (JSON.parse(text) as { data?: unknown }).data;
				if (!Array.isArray(listed))
					throw new Error('the answer has no "data" list (not an OpenAI-compatible /models)');
				return listed
					.filter((m): m is { id: string; owned_by?: unknown } => typeof m?.id === 'string')
					.map((m) => ({
						id: m.id,
						...(typeof m.owned_by === 'string' ? { ownedBy: m.owned_by } : {}),
					}));
			},
			options.policy,
			{ signal: options.signal, timeoutMs: options.timeoutMs ?? 15_000 },
		);
		return models.sort((a, b) => a.id.localeCompare(b.id));
	} catch (error) {
		if (options.signal?.aborted) throw error;
		const cause = error instanceof RetryExhaustedError ? error.lastError : error;
		const status = httpStatusOf(cause);
		const where = `the LLM API at ${config.baseUrl}`;
		const why =
			status === 401 || status === 403
				? `${where} refused the API key (${status}): check the credential`
				: status === 404
					? `${where} does not list its models (GET /models answered 404): choose "By Name" and type the model`
					: `Cannot list the models of ${where}: ${messageOf(cause)}`;
		throw new ModelListError(redactText(why, config.apiKey ? [config.apiKey] : []), status);
	}
}
