import {
	completionChunk,
	CompletionResponder,
	replyEnd,
	replyStart,
	type ResponderOptions,
	type ResponseSink,
} from '../../../lib/chat-completions';

const identity = { id: 'chatcmpl-test', created: 1_700_000_000, model: 'n8n-agent' };
const usage = { promptTokens: 12, completionTokens: 5, totalTokens: 17 };

/** A sink that records what the client would receive. */
function recordingSink() {
	const sent = { status: 0, headers: {} as Record<string, string>, body: '', ended: false };
	const sink: ResponseSink = {
		start: (status, headers) => {
			if (sent.status) throw new Error('headers sent twice');
			Object.assign(sent, { status, headers });
		},
		write: (text) => {
			if (!sent.status || sent.ended) throw new Error('write outside the response');
			sent.body += text;
		},
		end: (text = '') => {
			if (!sent.status || sent.ended) throw new Error('end outside the response');
			sent.body += text;
			sent.ended = true;
		},
	};
	return { sent, sink };
}

/** A responder writing to a recording sink. */
function recorded(options: Omit<ResponderOptions, 'identity' | 'sink'>) {
	const { sent, sink } = recordingSink();
	return { sent, responder: new CompletionResponder({ identity, sink, ...options }) };
}

/** n8n's chunk line for node `nodeId`, item `itemIndex`. */
const line = (type: string, content?: unknown, nodeId = 'agent', itemIndex = 0) =>
	`${JSON.stringify({
		type,
		...(content === undefined
			? {}
			: { content: typeof content === 'string' ? content : JSON.stringify(content) }),
		metadata: { nodeId, nodeName: nodeId, itemIndex, runIndex: 0, timestamp: 1 },
	})}\n`;

const events = (body: string) =>
	body
		.split('\n\n')
		.filter(Boolean)
		.map((event) => event.replace(/^data: /, ''))
		.map((data) => (data === '[DONE]' ? data : JSON.parse(data)));

describe('CompletionResponder', () => {
	it('streams the Agent reply as chat.completion.chunk events with one id, finish and usage, then [DONE]', () => {
		const { sent, responder } = recorded({ stream: true, includeUsage: true });
		responder.receive(line('begin', replyStart({ executionId: '42' })));
		// Chunks of another node (a second streaming node) are not part of the answer; a line may arrive in pieces.
		const piece = line('item', 'Hel');
		responder.receive(piece.slice(0, 10));
		responder.receive(piece.slice(10) + line('item', 'other', 'another-node'));
		responder.receive('{"type":"keepalive"}\n');
		responder.receive(line('item', 'lo'));
		responder.receive(line('end', replyEnd({ finishReason: 'stop', usage })));
		responder.close(); // n8n ends the response when the execution finishes

		expect(sent.status).toBe(200);
		expect(sent.headers['Content-Type']).toMatch(/^text\/event-stream/);
		const all = events(sent.body.replace(': keep-alive\n\n', ''));
		expect(sent.body).toContain(': keep-alive\n\n');
		expect(all.at(-1)).toBe('[DONE]');
		type Chunk = ReturnType<typeof completionChunk> & { usage?: unknown };
		const chunks = all.slice(0, -1) as Chunk[];
		expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(['chatcmpl-test']));
		expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
		expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
		const text = chunks
			.flatMap((c) => c.choices.map((choice) => choice.delta.content ?? ''))
			.join('');
		expect(text).toBe('Hello');
		expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
		expect(chunks.at(-1)).toMatchObject({
			choices: [],
			usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
		});
		expect(sent.ended).toBe(true);
	});

	it('answers one chat.completion when the client did not ask to stream; no usage event without include_usage', () => {
		const { sent, responder } = recorded({ stream: false, includeUsage: false });
		responder.receive(line('begin', replyStart({ executionId: '42' })));
		expect(sent.status).toBe(0); // nothing is sent before the answer is complete
		responder.receive(line('item', '{"a":'));
		responder.receive(line('item', '1}'));
		responder.receive(line('end', replyEnd({ finishReason: 'length', usage })));
		expect(sent.status).toBe(200);
		expect(JSON.parse(sent.body)).toEqual({
			...identity,
			object: 'chat.completion',
			system_fingerprint: expect.any(String),
			choices: [
				{
					index: 0,
					message: { role: 'assistant', content: '{"a":1}', refusal: null },
					logprobs: null,
					finish_reason: 'length',
				},
			],
			usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
		});
	});

	it.each([
		[
			'an Agent error',
			[
				line('begin', replyStart({ executionId: '1' })),
				line('end', replyEnd({ error: { message: 'model down', code: 'model_unavailable' } })),
			],
			/model down/,
			'model_unavailable',
		],
		[
			'a node error before the Agent',
			[line('error', 'Bad input', 'Set')],
			/failed in node "Set": Bad input/,
			null,
		],
		[
			'an execution without an Agent reply',
			[line('item', 'text of some other node', 'x')],
			/without an answer/,
			null,
		],
	])('turns %s into a 500 OpenAI error before anything was sent', (_, lines, message, code) => {
		const { sent, responder } = recorded({ stream: false, includeUsage: false });
		for (const l of lines) responder.receive(l);
		responder.close();
		expect(sent.status).toBe(500);
		expect(JSON.parse(sent.body)).toEqual({
			error: {
				message: expect.stringMatching(message),
				type: 'server_error',
				param: null,
				code,
			},
		});
	});

	it('ends a started stream with an error event when the Agent fails mid-answer', () => {
		const { sent, responder } = recorded({ stream: true, includeUsage: true });
		responder.receive(line('begin', replyStart({ executionId: '1' })));
		responder.receive(line('item', 'partial'));
		responder.receive(line('end', replyEnd({ error: { message: 'tool loop' } })));
		const all = events(sent.body);
		expect(all.at(-1)).toEqual({ error: expect.objectContaining({ message: 'tool loop' }) });
		expect(all).not.toContain('[DONE]');
		expect(sent.ended).toBe(true);
	});

	it('reports a client that hung up once the execution is known, and writes nothing more', () => {
		const abandoned: string[] = [];
		const { sent, responder } = recorded({
			stream: true,
			includeUsage: false,
			onAbandoned: (id) => abandoned.push(id),
		});
		responder.clientGone(); // before the Agent started (the execution was still queued)
		expect(abandoned).toEqual([]);
		responder.receive(line('begin', replyStart({ executionId: '77' })));
		responder.receive(line('item', 'late'));
		responder.close();
		expect(abandoned).toEqual(['77']);
		expect(sent.status).toBe(0);

		const after = recorded({
			stream: true,
			includeUsage: false,
			onAbandoned: (id) => abandoned.push(id),
		});
		const started = after.responder;
		started.receive(line('begin', replyStart({ executionId: '78' })));
		started.clientGone();
		started.receive(line('item', 'late'));
		expect(abandoned).toEqual(['77', '78']);
		expect(after.sent.body).not.toContain('late');
	});
});
