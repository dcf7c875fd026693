/**
 * Who calls an endpoint: the client keys of its credential (one per client, each its own trust domain), the key a
 * request presents (`Authorization: Bearer <key>`, compared in constant time), and the session a request continues.
 * A session is only ever continued with the key that started it when sessions are scoped per key: a client that
 * learns another's session ID (or `user`) cannot read that conversation with its own key.
 */
import { createHash } from 'node:crypto';

import { sameSecret } from '../secrets';
import { ChatCompletionsError } from './errors';

/** Shortest client key the credential test accepts: 32 characters (128 bits as hex, e.g. `openssl rand -hex 16`). */
const MIN_CLIENT_KEY_LENGTH = 32;

/** The credential's client keys: separated by commas (or new lines), blank entries ignored. */
export function clientKeys(field: string): string[] {
	return field
		.split(/[\n,]/)
		.map((key) => key.trim())
		.filter(Boolean);
}

/**
 * What is wrong with `key` as a client key of an endpoint, or undefined when nothing is: empty, shorter than
 * MIN_CLIENT_KEY_LENGTH, or with white space (clients send it in a header, where it would be cut or refused).
 */
export function clientKeyProblem(key: string): string | undefined {
	if (!key) return 'The key is empty';
	if (/\s/.test(key)) return 'The key contains white space, which clients cannot send in a header';
	if (key.length < MIN_CLIENT_KEY_LENGTH)
		return `The key has ${key.length} characters; use at least ${MIN_CLIENT_KEY_LENGTH} random ones (e.g. openssl rand -hex 32) so it cannot be guessed`;
	return undefined;
}

/**
 * The key among `keys` that `authorization` (`Bearer <key>`) presents, each compared in constant time; or the
 * ChatCompletionsError 401 (code invalid_api_key) to answer when the header is missing, malformed or wrong.
 */
export function authenticate(
	authorization: unknown,
	keys: readonly string[],
): { key: string } | ChatCompletionsError {
	const presented =
		typeof authorization === 'string'
			? /^Bearer\s+(.+)$/i.exec(authorization.trim())?.[1]
			: undefined;
	// Every key is compared, so the time taken does not tell which one (or whether one) matched.
	const matched = keys.filter((key) => key && sameSecret(presented, key));
	if (matched.length) return { key: matched[0] };
	return new ChatCompletionsError(
		401,
		presented === undefined
			? "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
			: 'Incorrect API key provided.',
		'invalid_request_error',
		null,
		'invalid_api_key',
	);
}

/** 'perKey': sessions live in the namespace of the key that calls; 'shared': every key reaches every session. */
export type SessionScope = 'perKey' | 'shared';

/**
 * The session a request continues: the one it names (`X-Session-Id`, else OpenAI's `user`), or a new one (its
 * completion ID). With scope 'perKey' the ID is prefixed with a tag of the calling key (16 hex characters of its
 * SHA-256: the key itself never appears), so the same name under another key is another session.
 */
export function sessionIdFor(input: {
	requested?: string;
	completionId: string;
	key: string;
	scope: SessionScope;
}): string {
	const session = input.requested || input.completionId;
	if (input.scope === 'shared') return session;
	const tag = createHash('sha256').update(input.key).digest('hex').slice(0, 16);
	return `${tag}:${session}`;
}

/** What one request may carry (Limits of the trigger): bytes of its body, messages, characters per message. */
export interface RequestLimits {
	maxRequestBytes: number;
	maxMessages: number;
	maxMessageChars: number;
}

/** The defaults: 1 MB, 500 messages, 200 000 characters (a long chat fits; a 10 MB message does not). */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
	maxRequestBytes: 1_000_000,
	maxMessages: 500,
	maxMessageChars: 200_000,
};

/**
 * The refusal for a request over `limits` before any execution starts, or undefined: 413 (code request_too_large)
 * for a body over maxRequestBytes, 400 (param messages, code context_length_exceeded) for too many messages or a
 * message over maxMessageChars. `bytes`: the body's size (its Content-Length, or its JSON when unknown); `messages`
 * the request's messages with their text.
 */
export function limitRefusal(
	bytes: number,
	messages: ReadonlyArray<{ text: string }>,
	limits: RequestLimits,
): ChatCompletionsError | undefined {
	if (bytes > limits.maxRequestBytes)
		return new ChatCompletionsError(
			413,
			`The request body has ${bytes} bytes; this endpoint takes at most ${limits.maxRequestBytes}.`,
			'invalid_request_error',
			null,
			'request_too_large',
		);
	if (messages.length > limits.maxMessages)
		return new ChatCompletionsError(
			400,
			`The request has ${messages.length} messages; this endpoint takes at most ${limits.maxMessages}.`,
			'invalid_request_error',
			'messages',
			'context_length_exceeded',
		);
	const long = messages.findIndex((m) => m.text.length > limits.maxMessageChars);
	if (long >= 0)
		return new ChatCompletionsError(
			400,
			`Message ${long} has ${messages[long].text.length} characters; this endpoint takes at most ${limits.maxMessageChars} per message.`,
			'invalid_request_error',
			`messages[${long}].content`,
			'context_length_exceeded',
		);
	return undefined;
}
