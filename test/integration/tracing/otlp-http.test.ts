/**
 * Our OTLP/HTTP exporter (lib/tracing/otlp-http.ts) against real HTTP servers: the request it makes, gzip, which
 * answers it retries and for how long, timeouts, unreachable and misconfigured endpoints (all failures come back as
 * FAILED results, never thrown), and TraceExport reporting them with the URL from the environment.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
	InMemorySpanExporter,
	SimpleSpanProcessor,
	TracerProvider,
	type ReadableSpan,
} from '@opentelemetry/sdk-trace';

import {
	OtlpHttpSpanExporter,
	TraceExport,
	traceNodeRun,
	traceRequestJson,
	type OtlpHttpOptions,
} from '../../../lib/tracing';
import { OtlpReceiver } from '../../support/otlp-receiver';

function someSpans(): ReadableSpan[] {
	const memory = new InMemorySpanExporter();
	const provider = new TracerProvider({
		spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
	});
	const tracer = provider.getTracer('test', '1.0.0');
	const span = tracer.startSpan('chat model', { attributes: { 'gen_ai.usage.input_tokens': 12 } });
	span.addEvent('started', { step: 1 });
	span.end();
	tracer.startSpan('second').end();
	return memory.getFinishedSpans();
}

const options = (extra: Partial<OtlpHttpOptions> = {}): OtlpHttpOptions => ({
	timeoutMillis: 5000,
	userAgent: 'n8n-nodes-openagents/test',
	...extra,
});

function exportTo(exporter: OtlpHttpSpanExporter, spans = someSpans()): Promise<ExportResult> {
	return new Promise((resolve) => exporter.export(spans, resolve));
}

/** A server that accepts requests and never answers. */
async function blackhole(): Promise<{ url: string; close: () => Promise<void> }> {
	const server: Server = createServer(() => undefined);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
		close: async () => {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

describe('OtlpHttpSpanExporter', () => {
	const receiver = new OtlpReceiver();
	let base: string;
	const exporters: OtlpHttpSpanExporter[] = [];
	const exporter = (extra: Partial<OtlpHttpOptions> = {}, env: Record<string, string> = {}) => {
		const created = new OtlpHttpSpanExporter(options(extra), env);
		exporters.push(created);
		return created;
	};
	beforeAll(async () => {
		base = await receiver.start();
	});
	afterEach(async () => {
		await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
		receiver.reset();
	});
	afterAll(() => receiver.stop());

	it('POSTs the OTLP/JSON request to the URL with the headers, and succeeds on 200', async () => {
		const spans = someSpans();
		const target = exporter(
			{ url: `${base}/v1/traces`, headers: { 'x-tracing-key': 'tk-1' } },
			{ OTEL_EXPORTER_OTLP_HEADERS: 'x-env=e,x-tracing-key=overridden' },
		);
		expect(await exportTo(target, spans)).toEqual({ code: ExportResultCode.SUCCESS });
		expect(receiver.requests).toHaveLength(1);
		const [request] = receiver.requests;
		expect(request.path).toBe('/v1/traces');
		expect(request.contentType).toBe('application/json');
		expect(request.headers).toMatchObject({
			'x-tracing-key': 'tk-1',
			'x-env': 'e',
			'user-agent': 'n8n-nodes-openagents/test',
		});
		expect(Buffer.from(request.body, 'base64').toString('utf8')).toBe(traceRequestJson(spans));
		expect(receiver.spans().map((s) => s.name)).toEqual(['chat model', 'second']);
		expect(receiver.spans()[0].attributes).toEqual({ 'gen_ai.usage.input_tokens': 12 });
	});

	it('takes the URL from OTEL_EXPORTER_OTLP_ENDPOINT when none is given, and gzips when asked to', async () => {
		const spans = someSpans();
		const target = exporter(
			{},
			{ OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' },
		);
		expect(target.url).toBe(`${base}/v1/traces`);
		expect((await exportTo(target, spans)).code).toBe(ExportResultCode.SUCCESS);
		const [request] = receiver.requests;
		expect(request.path).toBe('/v1/traces');
		expect(request.headers['content-encoding']).toBe('gzip');
		expect(gunzipSync(Buffer.from(request.body, 'base64')).toString('utf8')).toBe(
			traceRequestJson(spans),
		);
	});

	it('fails at once on a non-retryable status, with the status and the answer', async () => {
		receiver.status = 400;
		const result = await exportTo(exporter({ url: `${base}/v1/traces` }));
		expect(result.code).toBe(ExportResultCode.FAILED);
		expect(result.error?.message).toBe('HTTP 400 Bad Request: {"error":"unavailable"}');
		expect(receiver.requests).toHaveLength(1);
	});

	it('retries 503 with backoff until it succeeds', async () => {
		receiver.status = 503;
		const target = exporter({ url: `${base}/v1/traces` });
		const result = exportTo(target);
		while (receiver.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		receiver.status = 200;
		expect(await result).toEqual({ code: ExportResultCode.SUCCESS });
		expect(receiver.requests).toHaveLength(2);
	});

	it('gives up retrying when the next try would pass the timeout', async () => {
		receiver.status = 503;
		const started = Date.now();
		const result = await exportTo(exporter({ url: `${base}/v1/traces`, timeoutMillis: 1500 }));
		expect(result.code).toBe(ExportResultCode.FAILED);
		expect(result.error?.message).toContain('HTTP 503 Service Unavailable');
		expect(Date.now() - started).toBeLessThan(1600);
		expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
		expect(receiver.requests.length).toBeLessThanOrEqual(2);
	});

	it('fails with the network error when nothing listens', async () => {
		const url = `http://127.0.0.1:${await closedPort()}/v1/traces`;
		const result = await exportTo(exporter({ url, timeoutMillis: 500 }));
		expect(result.code).toBe(ExportResultCode.FAILED);
		expect(result.error?.message).toContain('ECONNREFUSED');
	});

	it('fails after the timeout when the endpoint does not answer', async () => {
		const hole = await blackhole();
		try {
			const started = Date.now();
			const result = await exportTo(exporter({ url: hole.url, timeoutMillis: 300 }));
			expect(result.code).toBe(ExportResultCode.FAILED);
			expect(result.error?.message).toBe('no answer within 300 ms');
			expect(Date.now() - started).toBeLessThan(1000);
		} finally {
			await hole.close();
		}
	});

	it('fails, without throwing, on a bad URL, another protocol, or an unreadable TLS file', async () => {
		const fails = async (target: OtlpHttpSpanExporter) => {
			const result = await exportTo(target);
			expect(result.code).toBe(ExportResultCode.FAILED);
			return result.error?.message;
		};
		expect(await fails(exporter({ url: 'not a url/v1/traces' }))).toBe(
			'the export URL is not a valid URL',
		);
		expect(await fails(exporter({ url: 'ftp://collector/v1/traces' }))).toContain(
			'unsupported protocol ftp:',
		);
		expect(
			await fails(
				exporter(
					{ url: 'https://127.0.0.1:1/v1/traces' },
					{ OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' },
				),
			),
		).toBe('cannot read OTEL_EXPORTER_OTLP_CERTIFICATE (/nonexistent/ca.pem): ENOENT');
	});

	it('waits for exports in flight on shutdown, and refuses exports after it', async () => {
		const target = exporter({ url: `${base}/v1/traces` });
		const results: ExportResult[] = [];
		target.export(someSpans(), (result) => results.push(result));
		await target.shutdown();
		expect(results).toEqual([{ code: ExportResultCode.SUCCESS }]);
		expect((await exportTo(target)).error?.message).toBe('the exporter is shut down');
	});
});

describe('TraceExport with our exporter', () => {
	const receiver = new OtlpReceiver();
	const saved = { ...process.env };
	let base: string;
	beforeAll(async () => {
		base = await receiver.start();
	});
	afterEach(() => {
		process.env = { ...saved };
		receiver.reset();
	});
	afterAll(() => receiver.stop());
	const info = {
		executionId: '17',
		workflowId: 'wf1',
		nodeName: 'Agent',
		nodeType: 'n8n-nodes-openagents.openAgentsAgent',
		recordContent: false,
	};

	it('sends to the environment endpoint with its headers, and reports a failure with that URL', async () => {
		process.env.OTEL_EXPORTER_OTLP_ENDPOINT = base;
		process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-env-key=from-env';
		const target = new TraceExport({ serviceName: 'svc' });
		const reports: string[] = [];
		target.reporter.report = (message) => void reports.push(message);
		try {
			await traceNodeRun(target, info, async () => undefined);
			expect(receiver.spans().map((s) => [s.name, s.scope, s.resource['service.name']])).toEqual([
				['Agent', 'n8n-nodes-openagents', 'svc'],
			]);
			expect(receiver.requests[0].headers['x-env-key']).toBe('from-env');
			expect(receiver.requests[0].headers['user-agent']).toMatch(/^n8n-nodes-openagents\//);
			expect(reports).toEqual([]);

			receiver.status = 400;
			await traceNodeRun(target, info, async () => undefined);
			expect(reports).toEqual([
				expect.stringContaining(
					`exporting 1 spans to ${base}/v1/traces failed (HTTP 400 Bad Request`,
				),
			]);
		} finally {
			await target.shutdown();
		}
	});
});
