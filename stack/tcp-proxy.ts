/**
 * A TCP proxy for fault tests: forwards 127.0.0.1:<port> to a target, counts what clients send (so a test can see
 * how many requests reached the network), and can hold everything clients send (a server that stopped answering,
 * without touching the server itself).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface TcpProxy {
	port: number;
	/** How often `text` appeared in what clients sent (case-insensitive; RESP commands, SQL, …). */
	count(text: string): number;
	/** Client connections open now. */
	connections(): number;
	/**
	 * From now on, a connection whose client sends `text` (any, when not given) is held from that chunk on: nothing
	 * more it sends is forwarded until release(), so a request is cut off mid-operation, after connecting.
	 */
	hold(text?: string): void;
	release(): void;
	close(): Promise<void>;
}

export async function startTcpProxy(
	targetPort: number,
	targetHost = '127.0.0.1',
): Promise<TcpProxy> {
	let sent = '';
	let holding: string | undefined;
	const waiting: Array<() => void> = [];
	const sockets = new Set<Socket>();
	const released = new Set<() => void>();
	let open = 0;
	const server: Server = createServer((client) => {
		open++;
		client.on('close', () => open--);
		const upstream = connect(targetPort, targetHost);
		for (const s of [client, upstream]) {
			sockets.add(s);
			s.on('close', () => sockets.delete(s));
			s.on('error', () => undefined); // the other side closing is what a fault test expects
		}
		let held = false;
		client.on('data', (chunk: Buffer) => {
			const text = chunk.toString('latin1').toLowerCase();
			sent += text;
			if (holding !== undefined && text.includes(holding)) held = true;
			if (held) waiting.push(() => upstream.write(chunk));
			else upstream.write(chunk);
		});
		const unhold = () => (held = false);
		released.add(unhold);
		client.on('close', () => released.delete(unhold));
		upstream.pipe(client);
		client.on('close', () => upstream.destroy());
		upstream.on('close', () => client.destroy());
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		port: (server.address() as { port: number }).port,
		count: (text) => sent.split(text.toLowerCase()).length - 1,
		connections: () => open,
		hold: (text = '') => {
			holding = text.toLowerCase();
		},
		release: () => {
			holding = undefined;
			for (const unhold of released) unhold();
			for (const write of waiting.splice(0)) write();
		},
		close: async () => {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
