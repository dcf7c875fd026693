/**
 * The stack's n8n client sends an API call again when the connection it reused was closed under it (n8n drops
 * idle keep-alive connections after 5 s; a request written at that moment fails with "other side closed"), and
 * never sends a webhook call twice.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { N8nClient } from '../../../stack/n8n/client';

let server: Server;
let url: string;
const received: string[] = [];

beforeAll(async () => {
	// The first request of each path is dropped the way a closing keep-alive connection drops it: the socket is
	// destroyed before any response byte.
	server = createServer((req, res) => {
		const seen = received.filter((path) => path === req.url).length;
		received.push(req.url ?? '');
		if (seen === 0) {
			req.socket.destroy();
			return;
		}
		res.setHeader('content-type', 'application/json');
		res.end(JSON.stringify({ data: [{ id: '1', status: 'success' }] }));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const client = () =>
	new N8nClient({
		url,
		apiKey: 'key',
		cookie: '',
		owner: { email: 'owner@example.com', password: 'unused' },
	});

it('sends an API call again when the connection closed before an answer', async () => {
	const executions = await client().executions({ workflowId: 'w1' });
	expect(executions).toEqual([{ id: '1', status: 'success' }]);
	expect(received.filter((path) => path.startsWith('/api/v1/executions'))).toHaveLength(2);
});

it('does not send a webhook call twice', async () => {
	await expect(client().webhook('hook', { question: 'q' })).rejects.toThrow('fetch failed');
	expect(received.filter((path) => path === '/webhook/hook')).toHaveLength(1);
});
