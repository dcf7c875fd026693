/** What both endpoints share: the bearer-key check, the served model names, OpenAI-shaped refusals. */
import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { keyRefusal, type ChatCompletionsError } from '../../../lib/chat-completions';

/** The Model Names parameter as a list (at least one name). */
export function modelNames(fn: IWebhookFunctions): string[] {
	const names = String(fn.getNodeParameter('modelNames', 'n8n-agent') ?? '')
		.split(',')
		.map((name) => name.trim())
		.filter(Boolean);
	return names.length ? names : ['n8n-agent'];
}

/** The refusal (401) when the request's bearer key is not the credential's, else undefined. */
export async function authorize(fn: IWebhookFunctions): Promise<ChatCompletionsError | undefined> {
	const { apiKey } = await fn.getCredentials('openAgentsChatCompletionsApi');
	return keyRefusal(fn.getHeaderData().authorization, String(apiKey ?? ''));
}

/** Answers with the error's status and OpenAI's error body; no execution is started. */
export function refuse(fn: IWebhookFunctions, error: ChatCompletionsError): IWebhookResponseData {
	const res = fn.getResponseObject();
	if (error.status === 401) res.set('WWW-Authenticate', 'Bearer');
	res.status(error.status).json(error.body);
	return { noWebhookResponse: true };
}
