import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';

import {
	authenticate,
	ChatCompletionsError,
	clientKeyProblem,
	clientKeys,
	DEFAULT_REQUEST_LIMITS,
	limitRefusal,
	sessionIdFor,
	latestUserText,
	modelRefusal,
	parseChatCompletionRequest,
	toChatMessages,
} from '../../../lib/chat-completions';
import { sameSecret } from '../../../lib/secrets';

const refusalOf = (body: unknown): ChatCompletionsError => {
	try {
		parseChatCompletionRequest(body);
	} catch (error) {
		return error as ChatCompletionsError;
	}
	throw new Error('accepted');
};

describe('parseChatCompletionRequest', () => {
	it('accepts the fields of the format, multi-part text content included', () => {
		const request = parseChatCompletionRequest({
			model: 'n8n-agent',
			messages: [
				{ role: 'system', content: 'Be brief.' },
				{
					role: 'user',
					content: [
						{ type: 'text', text: 'Hi ' },
						{ type: 'text', text: 'there' },
					],
				},
			],
			stream: true,
			stream_options: { include_usage: true },
			temperature: 0.2,
			max_tokens: 100,
			user: 'u-1',
			metadata: { team: 'ops' },
			response_format: { type: 'json_object' },
			top_p: 0.9, // not ours to honour: ignored, as by most compatible servers
		});
		expect(request).toMatchObject({
			model: 'n8n-agent',
			stream: true,
			temperature: 0.2,
			user: 'u-1',
		});
		expect(latestUserText(request.messages)).toBe('Hi there');
	});

	it.each([
		[[], 400, null, /JSON object/],
		[
			{ messages: [{ role: 'user', content: 'x' }] },
			400,
			'model',
			/Missing required parameter: 'model'/,
		],
		[{ model: 'm', messages: [] }, 400, 'messages', /at least 1/],
		[
			{ model: 'm', messages: [{ role: 'robot', content: 'x' }] },
			400,
			'messages[0].role',
			/'system'/,
		],
		[
			{ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
			400,
			'messages[0].content',
			/Invalid value/,
		],
		[
			{ model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 },
			400,
			'temperature',
			/2/,
		],
		[
			{ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 },
			400,
			'n',
			/Invalid value for 'n'/,
		],
		[
			{ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function' }] },
			400,
			'tools',
			/client-side tools are not supported/,
		],
		[
			{ model: 'm', messages: [{ role: 'tool', content: 'x', tool_call_id: 'call_1' }] },
			400,
			'messages[0].tool_call_id',
			/preceding message with 'tool_calls'/,
		],
	])('refuses %j with status %d and param %s', (body, status, param, message) => {
		const error = refusalOf(body);
		expect(error).toBeInstanceOf(ChatCompletionsError);
		expect(error.body).toEqual({
			error: {
				message: expect.stringMatching(message),
				type: 'invalid_request_error',
				param,
				code: null,
			},
		});
		expect(error.status).toBe(status);
	});
});

describe('keys and models', () => {
	it('accepts only the exact bearer key', () => {
		expect(authenticate('Bearer k-123', ['k-123'])).toEqual({ key: 'k-123' });
		expect(authenticate('bearer   k-123', ['k-123'])).toEqual({ key: 'k-123' });
		for (const header of ['Bearer k-12', 'Bearer k-1234', 'k-123', undefined, ['Bearer k-123']]) {
			expect(authenticate(header, ['k-123'])).toMatchObject({
				status: 401,
				code: 'invalid_api_key',
			});
		}
		// An empty configured key never matches, not even an empty presented one.
		expect(authenticate('Bearer ', [''])).toMatchObject({ status: 401 });
		expect(authenticate('Bearer k-123', [])).toMatchObject({ status: 401 });
		expect(sameSecret('a', 'a')).toBe(true);
		expect(sameSecret('a', 'b')).toBe(false);
	});

	it('takes several keys, and says which one a request presents', () => {
		const keys = clientKeys(' key-a , key-b\nkey-c,, ');
		expect(keys).toEqual(['key-a', 'key-b', 'key-c']);
		expect(authenticate('Bearer key-b', keys)).toEqual({ key: 'key-b' });
		expect(authenticate('Bearer key-d', keys)).toBeInstanceOf(ChatCompletionsError);
	});

	it('names what is weak about a client key', () => {
		expect(clientKeyProblem('')).toMatch(/empty/);
		expect(clientKeyProblem('a'.repeat(31))).toMatch(/31 characters; use at least 32/);
		expect(clientKeyProblem(`${'a'.repeat(20)} ${'b'.repeat(20)}`)).toMatch(/white space/);
		expect(clientKeyProblem('a'.repeat(32))).toBeUndefined();
	});

	it('keeps sessions of different keys apart unless the scope is shared', () => {
		const of = (key: string, scope: 'perKey' | 'shared', requested?: string) =>
			sessionIdFor({ requested, completionId: 'chatcmpl-1', key, scope });
		expect(of('key-a', 'perKey', 'alice')).not.toBe(of('key-b', 'perKey', 'alice'));
		expect(of('key-a', 'perKey', 'alice')).toBe(of('key-a', 'perKey', 'alice'));
		expect(of('key-a', 'perKey', 'alice')).toMatch(/^[0-9a-f]{16}:alice$/);
		expect(of('key-a', 'perKey', 'alice')).not.toContain('key-a');
		expect(of('key-a', 'shared', 'alice')).toBe('alice');
		expect(of('key-b', 'shared', 'alice')).toBe('alice');
		expect(of('key-a', 'shared')).toBe('chatcmpl-1');
	});

	it('refuses a request over its limits before anything runs, as OpenAI does', () => {
		const limits = { maxRequestBytes: 1000, maxMessages: 2, maxMessageChars: 10 };
		const ok = [{ text: 'hello' }, { text: 'world' }];
		expect(limitRefusal(999, ok, limits)).toBeUndefined();
		expect(limitRefusal(1001, ok, limits)?.status).toBe(413);
		expect(limitRefusal(1001, ok, limits)?.body.error.code).toBe('request_too_large');
		expect(limitRefusal(10, [...ok, { text: 'x' }], limits)?.body.error).toMatchObject({
			param: 'messages',
			code: 'context_length_exceeded',
		});
		const long = limitRefusal(10, [{ text: 'a' }, { text: 'x'.repeat(11) }], limits)!;
		expect(long.status).toBe(400);
		expect(long.body.error.param).toBe('messages[1].content');
		expect(long.message).toMatch(/Message 1 has 11 characters/);
		expect(DEFAULT_REQUEST_LIMITS).toEqual({
			maxRequestBytes: 1_000_000,
			maxMessages: 500,
			maxMessageChars: 200_000,
		});
	});

	it('refuses a model it does not serve with 404 model_not_found', () => {
		expect(modelRefusal('agent-b', ['agent-a', 'agent-b'])).toBeUndefined();
		expect(modelRefusal('gpt-4o', ['agent-a'])?.body.error).toMatchObject({
			param: 'model',
			code: 'model_not_found',
			message: expect.stringContaining("'agent-a'"),
		});
	});
});

describe('toChatMessages', () => {
	it('keeps every message in order, with tool calls and their results', () => {
		const { messages } = parseChatCompletionRequest({
			model: 'm',
			messages: [
				{ role: 'developer', content: 'dev' },
				{ role: 'user', content: 'first' },
				{
					role: 'assistant',
					content: null,
					tool_calls: [
						{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
					],
				},
				{ role: 'tool', tool_call_id: 'c1', content: 'found' },
				{ role: 'assistant', content: 'answer one' },
				{ role: 'user', content: 'second' },
			],
		});
		const converted = toChatMessages(messages);
		expect(converted.map((m) => m.constructor)).toEqual([
			SystemMessage,
			HumanMessage,
			AIMessage,
			ToolMessage,
			AIMessage,
			HumanMessage,
		]);
		expect((converted[2] as AIMessage).tool_calls).toEqual([
			{ id: 'c1', name: 'lookup', args: { q: 'x' }, type: 'tool_call' },
		]);
		expect((converted[3] as ToolMessage).tool_call_id).toBe('c1');
		expect(converted.map((m) => m.content)).toEqual([
			'dev',
			'first',
			'',
			'found',
			'answer one',
			'second',
		]);
		expect(latestUserText(messages)).toBe('second');
	});
});
