/** What both endpoints share: the bearer-key check, the served model names, OpenAI-shaped refusals. */
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import {
	clientKeyProblem,
	keyRefusal,
	type ChatCompletionsError,
} from '../../../lib/chat-completions';

/** Credential test of the client key: there is no service to ask, so it checks the key is strong (clientKeyProblem). */
export async function clientKeyTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const problem = clientKeyProblem(String(credential.data?.apiKey ?? ''));
	return problem
		? { status: 'Error', message: problem }
		: { status: 'OK', message: 'The key is long enough to give clients' };
}

/** The Model Names parameter as a list (at least one name). */
export function modelNames(fn: IWebhookFunctions): string[] {
	const names = String(fn.getNodeParameter('modelNames', 'n8n-agent') ?? '')
		.split(',')
		.map((name) => name.trim())
		.filter(Boolean);
	return names.length ? names : ['n8n-agent'];
}

/**
 * The credential's key, kept for KEY_CACHE_MS per credential ID: reading a credential costs n8n 5–100 ms per request
 * in queue mode (measured for this node; database and decryption), while the key rarely changes. An edited key
 * applies within KEY_CACHE_MS.
 */
const KEY_CACHE_MS = 5_000;
const keys = new Map<string, { key: string; until: number }>();

async function clientKey(fn: IWebhookFunctions): Promise<string> {
	const id = fn.getNode().credentials?.openAgentsChatCompletionsApi?.id;
	const cached = id ? keys.get(id) : undefined;
	if (cached && cached.until > Date.now()) return cached.key;
	const { apiKey } = await fn.getCredentials('openAgentsChatCompletionsApi');
	const key = String(apiKey ?? '');
	if (id) keys.set(id, { key, until: Date.now() + KEY_CACHE_MS });
	return key;
}

/** The refusal (401) when the request's bearer key is not the credential's, else undefined. */
export async function authorize(fn: IWebhookFunctions): Promise<ChatCompletionsError | undefined> {
	return keyRefusal(fn.getHeaderData().authorization, await clientKey(fn));
}

/** Answers with the error's status and OpenAI's error body; no execution is started. */
export function refuse(fn: IWebhookFunctions, error: ChatCompletionsError): IWebhookResponseData {
	const res = fn.getResponseObject();
	if (error.status === 401) res.set('WWW-Authenticate', 'Bearer');
	res.status(error.status).json(error.body);
	return { noWebhookResponse: true };
}
