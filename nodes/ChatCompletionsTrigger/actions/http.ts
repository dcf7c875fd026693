/** What both endpoints share: the bearer-key check, the served model names, OpenAI-shaped refusals. */
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import {
	authenticate,
	clientKeyProblem,
	clientKeys,
	type ChatCompletionsError,
} from '../../../lib/chat-completions';

/** Credential test of the client keys: there is no service to ask, so it checks each key is strong (clientKeyProblem). */
export async function clientKeyTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const keys = clientKeys(String(credential.data?.apiKey ?? ''));
	const problems = (keys.length ? keys : ['']).flatMap((key, i) => {
		const problem = clientKeyProblem(key);
		return problem ? [keys.length > 1 ? `Key ${i + 1}: ${problem}` : problem] : [];
	});
	return problems.length
		? { status: 'Error', message: problems.join('; ') }
		: {
				status: 'OK',
				message: `${keys.length === 1 ? 'The key is' : `All ${keys.length} keys are`} long enough to give clients`,
			};
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
const cache = new Map<string, { keys: string[]; until: number }>();

async function credentialKeys(fn: IWebhookFunctions): Promise<string[]> {
	const id = fn.getNode().credentials?.openAgentsChatCompletionsApi?.id;
	const cached = id ? cache.get(id) : undefined;
	if (cached && cached.until > Date.now()) return cached.keys;
	const { apiKey } = await fn.getCredentials('openAgentsChatCompletionsApi');
	const keys = clientKeys(String(apiKey ?? ''));
	if (id) cache.set(id, { keys, until: Date.now() + KEY_CACHE_MS });
	return keys;
}

/** The key the request presents when it is one of the credential's, else the refusal (401) to answer. */
export async function authorize(
	fn: IWebhookFunctions,
): Promise<{ key: string } | ChatCompletionsError> {
	return authenticate(fn.getHeaderData().authorization, await credentialKeys(fn));
}

/** Answers with the error's status and OpenAI's error body; no execution is started. */
export function refuse(fn: IWebhookFunctions, error: ChatCompletionsError): IWebhookResponseData {
	const res = fn.getResponseObject();
	if (error.status === 401) res.set('WWW-Authenticate', 'Bearer');
	res.status(error.status).json(error.body);
	return { noWebhookResponse: true };
}
