/**
 * The models an OpenAI-compatible server lists (GET /models), through the OpenAI SDK, for pickers in the editor.
 * Servers that list nothing useful (some proxies answer 404) get a ModelListError saying to type the name instead.
 */
import OpenAI from 'openai';

import {
	httpStatusOf,
	messageOf,
	RetryExhaustedError,
	withRetry,
	type RetryPolicy,
} from '../retry';
import type { LlmConfig } from './config';
import { redactText } from './redact';

export interface ListedModel {
	id: string;
	/** `owned_by` as the server reports it (e.g. "openai", "library"), when it does. */
	ownedBy?: string;
}

export interface ListModelsOptions {
	policy: RetryPolicy;
	signal?: AbortSignal;
	/** Per-attempt limit, ms (default 15 000: a picker should answer quickly or say why not). */
	timeoutMs?: number;
}

export class ModelListError extends Error {
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
	config: Pick<LlmConfig, 'baseUrl' | 'apiKey'>,
	options: ListModelsOptions,
): Promise<ListedModel[]> {
	const client = new OpenAI({
		apiKey: config.apiKey || 'not-needed',
		baseURL: config.baseUrl,
		maxRetries: 0,
	});
	try {
		const models = await withRetry(
			async ({ signal }) => {
				const out: ListedModel[] = [];
				for await (const model of client.models.list({ signal })) {
					const ownedBy = (model as { owned_by?: unknown }).owned_by;
					out.push({ id: model.id, ...(typeof ownedBy === 'string' ? { ownedBy } : {}) });
				}
				return out;
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
