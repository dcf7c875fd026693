/**
 * What tracing costs, in-process against the offline model with no latency (the worst case for a relative figure):
 * one Agent loop (runAgent: two model round-trips and one tool call) per run, inside a node run's span as a node
 * runs it (traceNodeRun, spans flushed before it returns), in four set-ups whose runs interleave so machine noise hits
 * all alike: untraced; exported to a local OTLP/HTTP receiver; endpoint down (connection refused); endpoint that
 * accepts connections and never answers. The last also measures memory: the heap after many runs stays bounded by
 * the export queue's limit (EXPORT_LIMITS.maxQueueSize spans) instead of growing with the runs. Then untraced vs
 * exported once more with model latency (default 100 ms per call), as against a real provider.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { runAgent, UsageTracker } from '../lib/llm';
import { NoRetryPolicy } from '../lib/retry';
import { EXPORT_LIMITS, TraceExport, traceNodeRun } from '../lib/tracing';
import { OfflineModelServer } from '../stack/model-server';
import { benchLoopParts, oneToolCall } from './agent';
import { summary } from './stats';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function listen(server: {
	listen(port: number, host: string, cb: () => void): unknown;
	address(): unknown;
}) {
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function tracing(
	runs = Number(process.env.BENCH_TRACING_RUNS ?? 250),
	memoryRuns = Number(process.env.BENCH_TRACING_MEMORY_RUNS ?? 6000),
	latencyMs = Number(process.env.BENCH_TRACING_MODEL_LATENCY_MS ?? 100),
	latencyRuns = Number(process.env.BENCH_TRACING_LATENCY_RUNS ?? 60),
) {
	const model = new OfflineModelServer();
	await model.start();
	model.setHandler(oneToolCall);
	let exported = 0;
	const receiver = createHttpServer((req, res) => {
		req.resume();
		req.on('end', () => {
			exported++;
			res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
		});
	});
	const sockets = new Set<Socket>();
	const blackhole = createTcpServer((socket) => {
		// Accepts, never answers; forgets a connection once the exporter gives up on it.
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	const closed = createTcpServer();
	const [up, hanging, downUrl] = await Promise.all([
		listen(receiver),
		listen(blackhole),
		listen(closed),
	]);
	await new Promise((resolve) => closed.close(resolve)); // nothing listens there any more
	const targets = {
		up: new TraceExport({ endpoint: up }),
		down: new TraceExport({ endpoint: downUrl }),
		hanging: new TraceExport({ endpoint: hanging }),
	};
	const reports: string[] = [];
	for (const target of Object.values(targets))
		target.reporter.report = (message) => void reports.push(message);

	const { model: chat, tool, messages } = benchLoopParts(model);
	const loop = async () => {
		const result = await runAgent(chat, messages, [tool], {
			policy: new NoRetryPolicy(),
			usage: new UsageTracker(),
		});
		if (result.status !== 'completed') throw new Error(`bench agent run: ${result.status}`);
	};
	let execution = 0;
	const traced = (target: TraceExport) => () =>
		traceNodeRun(
			target,
			{
				executionId: String(++execution),
				workflowId: 'bench',
				nodeName: 'Agent',
				nodeType: 'n8n-nodes-openagents.openAgentsAgent',
				recordContent: false,
			},
			loop,
		);
	const variants: Record<string, () => Promise<unknown>> = {
		off: loop,
		on: traced(targets.up),
		endpointDown: traced(targets.down),
		endpointHanging: traced(targets.hanging),
	};

	try {
		const heap = () => {
			// The model server's request log grows with every request; it is not what is measured.
			model.reset();
			model.setHandler(oneToolCall);
			gc();
			return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
		};
		// Warm-up (not measured); it also lets the hanging endpoint's first flush time out once.
		for (let i = 0; i < 20; i++) for (const run of Object.values(variants)) await run();
		const times: Record<string, number[]> = Object.fromEntries(
			Object.keys(variants).map((name) => [name, []]),
		);
		const heapBefore = heap();
		for (let i = 0; i < runs; i++) {
			for (const [name, run] of Object.entries(variants)) {
				const t = performance.now();
				await run();
				times[name].push(performance.now() - t);
			}
		}
		// Memory: many more runs (4 spans each) against the hanging endpoint alone: its queue fills, then drops spans,
		// so the heap after the second half is about what it was after the first.
		// Control: the same number of untraced runs, for what the loop itself leaves on the heap.
		const controlBefore = heap();
		for (let i = 0; i < memoryRuns / 2; i++) await variants.off();
		const controlAfter = heap();
		for (let i = 0; i < memoryRuns / 2; i++) await variants.endpointHanging();
		const heapAfterHalf = heap();
		for (let i = 0; i < memoryRuns / 2; i++) await variants.endpointHanging();
		const heapAfter = heap();

		// The same loop with model latency, as against a real provider: off and on only.
		model.latencyMs = latencyMs;
		const slow: Record<string, number[]> = { off: [], on: [] };
		for (let i = 0; i < latencyRuns; i++) {
			for (const name of ['off', 'on'] as const) {
				const t = performance.now();
				await variants[name]();
				slow[name].push(performance.now() - t);
			}
		}
		const stats = Object.fromEntries(
			Object.entries(times).map(([name, values]) => [name, summary(values)]),
		);
		const pct = (name: string) =>
			Math.round(((stats[name].p50 - stats.off.p50) / stats.off.p50) * 1000) / 10;
		const [slowOff, slowOn] = [summary(slow.off), summary(slow.on)];
		return {
			unit: 'ms per Agent loop run (2 model round-trips + 1 tool call, offline model, no latency)',
			runs,
			...stats,
			overheadP50Pct: {
				on: pct('on'),
				endpointDown: pct('endpointDown'),
				endpointHanging: pct('endpointHanging'),
			},
			exportRequests: exported,
			withModelLatency: {
				modelLatencyMs: latencyMs,
				runs: latencyRuns,
				off: slowOff,
				on: slowOn,
				overheadP50Pct: Math.round(((slowOn.p50 - slowOff.p50) / slowOff.p50) * 1000) / 10,
			},
			memory: {
				unit: 'MiB of heap in use after GC, endpoint hanging',
				queueLimitSpans: EXPORT_LIMITS.maxQueueSize,
				heapBefore,
				[`heapAfter${20 + runs + memoryRuns / 2}Runs`]: heapAfterHalf,
				[`heapAfter${20 + runs + memoryRuns}Runs`]: heapAfter,
				untracedControl: {
					runs: memoryRuns / 2,
					heapBefore: controlBefore,
					heapAfter: controlAfter,
				},
				spansCreated: 4 * (20 + runs + memoryRuns),
			},
			failureReports: reports.length,
		};
	} finally {
		// Refuse the hanging endpoint's connections first, so its exporter's shutdown fails fast instead of timing out
		// (close() resolves once the open connections are gone).
		const blackholeClosed = new Promise((resolve) => blackhole.close(resolve));
		for (const socket of sockets) socket.destroy();
		await blackholeClosed;
		await Promise.all([
			...Object.values(targets).map((t) => t.shutdown().catch(() => undefined)),
			model.stop(),
		]);
		receiver.closeAllConnections();
		await new Promise((resolve) => receiver.close(resolve));
	}
}
