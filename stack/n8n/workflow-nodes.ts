/** n8n-nodes-base nodes that e2e workflows share. */
import { randomUUID } from 'node:crypto';

/**
 * A production webhook at `path` answering with the last node's output; `parameters` override the defaults, e.g.
 * `{ responseMode: 'onReceived' }` (answer at once) or `{ responseData: 'allEntries' }` (every output item).
 */
export function webhookNode(
	path: string,
	position: [number, number] = [0, 0],
	parameters: Record<string, unknown> = {},
) {
	return {
		id: randomUUID(),
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position,
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {}, ...parameters },
	};
}

/** A Set node named "Where" adding `processName` (main, worker-1, ...) from the process's OPENAGENTS_PROCESS_NAME. */
export function whereNode(position: [number, number], includeOtherFields = false) {
	return {
		id: randomUUID(),
		name: 'Where',
		type: 'n8n-nodes-base.set',
		typeVersion: 3.4,
		position,
		parameters: {
			...(includeOtherFields ? { includeOtherFields: true } : {}),
			assignments: {
				assignments: [
					{
						id: randomUUID(),
						name: 'processName',
						value: '={{ $env.OPENAGENTS_PROCESS_NAME }}',
						type: 'string',
					},
				],
			},
			options: {},
		},
	};
}

/** n8n's AI Agent (3.1) prompted with `text` (an expression). */
export function aiAgentNode(text: string, position: [number, number] = [220, 0]) {
	return {
		id: randomUUID(),
		name: 'AI Agent',
		type: '@n8n/n8n-nodes-langchain.agent',
		typeVersion: 3.1,
		position,
		parameters: { promptType: 'define', text, options: {} },
	};
}

/**
 * n8n's OpenAI Chat Model node on Chat Completions (its 1.3 default is the Responses API, which OpenAI-compatible
 * servers such as our offline stand-in do not serve), with an `openAiApi` credential.
 */
export function openAiChatModelNode(
	credential: { id: string; name: string },
	model = 'offline-chat',
	position: [number, number] = [200, 200],
) {
	return {
		id: randomUUID(),
		name: 'Chat Model',
		type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
		typeVersion: 1.3,
		position,
		parameters: {
			model: { __rl: true, mode: 'id', value: model },
			responsesApiEnabled: false,
			options: {},
		},
		credentials: { openAiApi: { id: credential.id, name: credential.name } },
	};
}
