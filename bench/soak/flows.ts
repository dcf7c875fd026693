/**
 * One request per flow of the soak's mixed load, each checked for the shape its example answers with. A request ends
 * as `ok`, `error` (accepted, then failed: HTTP 5xx, an error event in a stream, an error item), `refused` (not
 * accepted: HTTP 4xx or no connection) or `unanswered` (no complete answer within RESPONSE_TIMEOUT_MS).
 */
import { WEBHOOK_KEY_HEADER } from '../../stack/examples';
import type { SoakStack } from './stack';

export type FlowName = keyof SoakStack['flows'];

export interface RequestResult {
	result: 'ok' | 'error' | 'refused' | 'unanswered';
	/** The error's code where the answer names one (OpenAI error object, error item), else the HTTP status. */
	code?: string;
	detail?: string;
}

/** Longer than any flow takes on a loaded machine with a stalled model (the Agent's model call timeout is 120 s). */
const RESPONSE_TIMEOUT_MS = 300_000;

const QUESTIONS = [
	'After how many retry attempts are pending commands flushed with an error when the Redis connection is down?',
	'How does the client reconnect when the connection is lost?',
	'How do I create a collection and query it?',
	'How are pooled connections released after a query?',
];

const SESSIONS = 8; // chat sessions the load takes turns with (the Chat Memory keeps 20 messages each)

/** Sends a request and reads its whole body; undefined when it was not answered in time. */
async function send(
	url: string,
	init: RequestInit,
): Promise<{ status: number; text: string } | RequestResult> {
	try {
		const res = await fetch(url, { ...init, signal: AbortSignal.timeout(RESPONSE_TIMEOUT_MS) });
		return { status: res.status, text: await res.text() };
	} catch (error) {
		const name = (error as Error).name;
		if (name === 'TimeoutError') return { result: 'unanswered', detail: 'no answer in time' };
		// Nothing was accepted when the connection could not be made; a connection reset mid-answer is the server's error.
		const cause = (error as { cause?: { code?: string } }).cause?.code;
		return cause === 'ECONNREFUSED'
			? { result: 'refused', code: cause }
			: { result: 'unanswered', code: cause, detail: (error as Error).message };
	}
}

/** HTTP statuses other than 200: 4xx means the request was not accepted, 5xx that it failed. */
function byStatus(status: number, text: string): RequestResult {
	return {
		result: status >= 500 ? 'error' : 'refused',
		code: `HTTP ${status}`,
		detail: text.slice(0, 200),
	};
}

const json = (headers: Record<string, string>) => ({
	...headers,
	'content-type': 'application/json',
});

/** The request functions, by flow, for the stack's workflows. */
export function flowRequests(
	stack: SoakStack,
): Record<FlowName, (n: number) => Promise<RequestResult>> {
	const base = `${stack.cluster.url}/webhook`;
	const key = { [WEBHOOK_KEY_HEADER]: stack.webhookKey };
	const post = (path: string, body: unknown, headers: Record<string, string>) =>
		send(`${base}/${path}`, { method: 'POST', headers: json(headers), body: JSON.stringify(body) });
	const { user, password } = stack.chatLogin;
	const login = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
	return {
		async ingest() {
			const res = await post(stack.flows.ingest.path, {}, key);
			if ('result' in res) return res;
			if (res.status !== 200) return byStatus(res.status, res.text);
			const items = JSON.parse(res.text) as Array<{ error?: string; code?: string }>;
			const failed = items.find((i) => i.error);
			return failed
				? { result: 'error', code: failed.code ?? 'error item', detail: failed.error }
				: { result: 'ok' };
		},
		async chat(n) {
			const res = await post(
				stack.flows.chat.path,
				{
					action: 'sendMessage',
					sessionId: `soak-${n % SESSIONS}`,
					chatInput: QUESTIONS[n % QUESTIONS.length],
				},
				login,
			);
			if ('result' in res) return res;
			if (res.status !== 200) return byStatus(res.status, res.text);
			// The Chat Trigger streams JSON lines: begin, item (text deltas), end; an error as an `error` chunk.
			const chunks = res.text
				.split('\n')
				.filter(Boolean)
				.map((line) => JSON.parse(line) as { type: string; content?: string });
			const error = chunks.find((c) => c.type === 'error');
			if (error) return { result: 'error', code: 'stream error', detail: error.content };
			const complete = chunks.at(-1)?.type === 'end' && chunks.some((c) => c.type === 'item');
			return complete
				? { result: 'ok' }
				: { result: 'error', code: 'incomplete stream', detail: res.text.slice(0, 200) };
		},
		async research(n) {
			const res = await post(
				stack.flows.research.path,
				{ question: QUESTIONS[n % QUESTIONS.length], run: n },
				key,
			);
			if ('result' in res) return res;
			if (res.status !== 200) return byStatus(res.status, res.text);
			const report = JSON.parse(res.text) as { planStatus?: string; answer?: string };
			return report.planStatus === 'completed' && report.answer
				? { result: 'ok' }
				: { result: 'error', code: `plan ${report.planStatus}`, detail: res.text.slice(0, 200) };
		},
		async approval(n) {
			// Answers on receipt: the execution then waits for the reviewer (approvals.ts) and ends later.
			const res = await post(
				stack.flows.approval.path,
				{ email: 'ann@example.com', message: `Where is order ${n}?` },
				key,
			);
			if ('result' in res) return res;
			return res.status === 200 ? { result: 'ok' } : byStatus(res.status, res.text);
		},
		async chatCompletions(n) {
			const res = await post(
				stack.flows.chatCompletions.path,
				{
					model: 'openagents-docs',
					stream: true,
					messages: [{ role: 'user', content: QUESTIONS[n % QUESTIONS.length] }],
				},
				{ authorization: `Bearer ${stack.chatCompletionsKey}` },
			);
			if ('result' in res) return res;
			if (res.status !== 200) {
				const code = (JSON.parse(res.text || '{}') as { error?: { code?: string } }).error?.code;
				return { ...byStatus(res.status, res.text), ...(code ? { code } : {}) };
			}
			// Server-sent events: chunks, then `[DONE]`; an error as an event with OpenAI's `error` object.
			const events = res.text
				.split('\n')
				.filter((line) => line.startsWith('data: '))
				.map((line) => line.slice(6));
			for (const event of events) {
				if (event === '[DONE]') continue;
				const { error } = JSON.parse(event) as {
					error?: { code?: string; type?: string; message?: string };
				};
				if (error)
					return { result: 'error', code: error.code ?? error.type, detail: error.message };
			}
			return events.at(-1) === '[DONE]' && events.length > 1
				? { result: 'ok' }
				: { result: 'error', code: 'incomplete stream', detail: res.text.slice(0, 200) };
		},
	};
}
