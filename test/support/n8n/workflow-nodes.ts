/** n8n-nodes-base nodes that e2e workflows share. */
import { randomUUID } from 'node:crypto';

/** A production webhook at `path` answering with the last node's output. */
export function webhookNode(path: string, position: [number, number] = [0, 0]) {
	return { id: randomUUID(), name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position, webhookId: randomUUID(), parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {} } };
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
			assignments: { assignments: [{ id: randomUUID(), name: 'processName', value: '={{ $env.OPENAGENTS_PROCESS_NAME }}', type: 'string' }] },
			options: {},
		},
	};
}
