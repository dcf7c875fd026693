/**
 * An OTLP/HTTP trace receiver for tests: keeps every export request's raw body, answers with a configurable status,
 * and decodes OTLP/JSON requests (as OpenTelemetry exporters send them) into flat spans using the
 * OpenTelemetry transformer's own request types. `GET /received` returns what was received, so a test process can
 * read a receiver that another process (the e2e global setup) started.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type {
	IAnyValue,
	IKeyValue,
} from '@opentelemetry/otlp-transformer/build/src/common/internal-types';
import type { IExportTraceServiceRequest } from '@opentelemetry/otlp-transformer/build/src/trace/internal-types';

/** The environment variable that tells e2e test files the URL of the receiver the global setup started. */
export const OTLP_RECEIVER_ENV = 'OPENAGENTS_E2E_OTLP_RECEIVER';

export interface ReceivedRequest {
	path: string;
	contentType: string;
	headers: Record<string, string>;
	/** base64 */
	body: string;
}

export interface ReceivedSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
	attributes: Record<string, unknown>;
	events: Array<{ name: string; attributes: Record<string, unknown> }>;
	links: Array<{ traceId: string; spanId: string; attributes: Record<string, unknown> }>;
	/** 0 unset, 1 ok, 2 error */
	status: { code: number; message?: string };
	startNs: bigint;
	endNs: bigint;
	resource: Record<string, unknown>;
	scope: string;
}

function valueOf(value: IAnyValue | undefined): unknown {
	if (!value) return undefined;
	if (value.stringValue !== undefined && value.stringValue !== null) return value.stringValue;
	if (value.boolValue !== undefined && value.boolValue !== null) return value.boolValue;
	if (value.intValue !== undefined && value.intValue !== null) return Number(value.intValue);
	if (value.doubleValue !== undefined && value.doubleValue !== null) return value.doubleValue;
	if (value.arrayValue) return value.arrayValue.values.map(valueOf);
	return undefined;
}

function attributesOf(list: IKeyValue[] | undefined): Record<string, unknown> {
	return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

const hex = (id: unknown): string =>
	typeof id === 'string' ? id : Buffer.from(id as Uint8Array).toString('hex');

/** The spans of OTLP/JSON export requests, in the order received. Other encodings are skipped. */
export function decodeSpans(requests: readonly ReceivedRequest[]): ReceivedSpan[] {
	const spans: ReceivedSpan[] = [];
	for (const request of requests) {
		if (!request.contentType.includes('json')) continue;
		const body = JSON.parse(
			Buffer.from(request.body, 'base64').toString('utf8'),
		) as IExportTraceServiceRequest;
		for (const resourceSpans of body.resourceSpans ?? []) {
			const resource = attributesOf(resourceSpans.resource?.attributes);
			for (const scopeSpans of resourceSpans.scopeSpans) {
				for (const span of scopeSpans.spans ?? []) {
					spans.push({
						traceId: hex(span.traceId),
						spanId: hex(span.spanId),
						...(span.parentSpanId ? { parentSpanId: hex(span.parentSpanId) } : {}),
						name: span.name,
						attributes: attributesOf(span.attributes),
						events: (span.events ?? []).map((e) => ({
							name: e.name,
							attributes: attributesOf(e.attributes),
						})),
						links: (span.links ?? []).map((l) => ({
							traceId: hex(l.traceId),
							spanId: hex(l.spanId),
							attributes: attributesOf(l.attributes),
						})),
						status: { code: span.status?.code ?? 0, message: span.status?.message },
						startNs: BigInt(String(span.startTimeUnixNano)),
						endNs: BigInt(String(span.endTimeUnixNano)),
						resource,
						scope: scopeSpans.scope?.name ?? '',
					});
				}
			}
		}
	}
	return spans;
}

export class OtlpReceiver {
	readonly requests: ReceivedRequest[] = [];

	/** The HTTP status export requests get (set 503 to make the endpoint fail). */
	status = 200;

	private server?: Server;

	/** Starts on `port` (default: any free one); returns the base URL (the OTLP endpoint, without /v1/traces). */
	async start(port = 0): Promise<string> {
		this.server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (chunk: Buffer) => chunks.push(chunk));
			req.on('end', () => {
				if (req.method === 'GET' && req.url === '/received') {
					res.writeHead(200, { 'content-type': 'application/json' });
					res.end(JSON.stringify(this.requests));
					return;
				}
				if (req.method === 'DELETE' && req.url === '/received') {
					this.requests.length = 0;
					res.writeHead(204).end();
					return;
				}
				this.requests.push({
					path: req.url ?? '',
					contentType: String(req.headers['content-type'] ?? ''),
					headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
					body: Buffer.concat(chunks).toString('base64'),
				});
				res.writeHead(this.status, { 'content-type': 'application/json' });
				res.end(this.status === 200 ? '{}' : '{"error":"unavailable"}');
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	spans(): ReceivedSpan[] {
		return decodeSpans(this.requests);
	}

	/** Every byte received, for "this text was never sent" checks. */
	bytes(): Buffer {
		return Buffer.concat(this.requests.map((r) => Buffer.from(r.body, 'base64')));
	}

	reset(): void {
		this.requests.length = 0;
		this.status = 200;
	}

	async stop(): Promise<void> {
		if (!this.server) return;
		// Exporters keep their connections alive; close them, or close() waits for them.
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server!.close(() => resolve()));
	}
}

/** What a receiver started in another process received (its GET /received). */
export async function receivedBy(baseUrl: string): Promise<ReceivedRequest[]> {
	const response = await fetch(`${baseUrl}/received`);
	return (await response.json()) as ReceivedRequest[];
}
