/**
 * Where spans go: OpenTelemetry's SDK tracer provider with a batch span processor and our OTLP/HTTP (JSON) span
 * exporter (otlp-http.ts), one per destination and process, kept across node runs. Our provider is our own (not the
 * global one), so n8n's tracing, when on, keeps its own pipeline and we join its traces by parent context only.
 */
import { createHash } from 'node:crypto';

import type { Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
	BatchSpanProcessor,
	RandomIdGenerator,
	TracerProvider,
	type IdGenerator,
	type ReadableSpan,
	type SpanExporter,
} from '@opentelemetry/sdk-trace';

import { OtlpHttpSpanExporter } from './otlp-http';

/** This package's name and version as the tracer's instrumentation scope. */
const INSTRUMENTATION_SCOPE = { name: 'n8n-nodes-openagents', version: '0.1.0' };

export interface ExportConfig {
	/**
	 * OTLP/HTTP base URL as in OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318); `/v1/traces` is appended
	 * unless the URL already ends with it. Undefined: the exporter reads the standard OTEL_EXPORTER_OTLP_* variables.
	 */
	endpoint?: string;
	/** HTTP headers of every export request (e.g. Authorization for Langfuse, x-honeycomb-team). */
	headers?: Record<string, string>;
	/** The service.name resource attribute (default "n8n-nodes-openagents"). */
	serviceName?: string;
}

/** Export defaults: queue and batch sizes bound memory when the endpoint is slow or down; ms for times. */
export const EXPORT_LIMITS = {
	maxQueueSize: 2048,
	maxExportBatchSize: 512,
	scheduledDelayMillis: 1000,
	exportTimeoutMillis: 10_000,
	/** How long a node waits for its spans to be sent before it returns. */
	flushTimeoutMillis: 5000,
} as const;

/** The traces URL for an OTLP/HTTP base URL (see ExportConfig.endpoint). */
export function tracesUrl(endpoint: string): string {
	const base = endpoint.trim().replace(/\/+$/, '');
	return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * The trace ID of an n8n execution: the first 128 bits of SHA-256 over workflow and execution ID, so every traced
 * node of one execution, on whichever worker, lands in the same trace (32 lowercase hex characters).
 */
export function executionTraceId(workflowId: string, executionId: string): string {
	return createHash('sha256')
		.update(`n8n-execution\0${workflowId}\0${executionId}`)
		.digest('hex')
		.slice(0, 32);
}

/** Random IDs, except that the next root span can be given its trace ID (startSpan asks for it synchronously). */
class ExecutionIdGenerator implements IdGenerator {
	private readonly random = new RandomIdGenerator();
	private nextTraceId: string | undefined;

	generateTraceId = (): string => {
		const id = this.nextTraceId ?? this.random.generateTraceId();
		this.nextTraceId = undefined;
		return id;
	};

	generateSpanId = (): string => this.random.generateSpanId();

	withTraceId<T>(traceId: string, start: () => T): T {
		this.nextTraceId = traceId;
		try {
			return start();
		} finally {
			this.nextTraceId = undefined;
		}
	}
}

/** Passes exports through and reports the first failure of a failing streak (no log line per batch). */
class ReportingExporter implements SpanExporter {
	failing = false;

	constructor(
		private readonly inner: SpanExporter,
		readonly destination: string,
		readonly reporter: { report: (message: string) => void },
	) {}

	export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
		this.inner.export(spans, (result) => {
			if (result.code === ExportResultCode.SUCCESS) this.failing = false;
			else {
				if (!this.failing)
					this.reporter.report(
						`Tracing: exporting ${spans.length} spans to ${this.destination} failed (${result.error?.message ?? 'unknown error'}); spans are dropped and later failures are not logged until an export succeeds`,
					);
				this.failing = true;
			}
			done(result);
		});
	}

	shutdown(): Promise<void> {
		return this.inner.shutdown();
	}

	forceFlush(): Promise<void> {
		return this.inner.forceFlush?.() ?? Promise.resolve();
	}
}

/** One destination's tracer provider; get it with traceExportFor. */
export class TraceExport {
	readonly tracer: Tracer;

	private readonly provider: TracerProvider;

	private readonly ids = new ExecutionIdGenerator();

	private readonly exporter: ReportingExporter;

	/** Receives export failures (the latest node run's logger). */
	readonly reporter = { report: (_message: string): void => undefined };

	private readonly flushTimeoutMillis: number;

	/**
	 * `inner` and `flushTimeoutMillis` replace the OTLP exporter and the flush limit (tests). Without an endpoint the
	 * OTLP exporter takes its URL and headers from the OTEL_EXPORTER_OTLP_* variables (see otlp-http.ts).
	 */
	constructor(
		config: ExportConfig,
		inner?: SpanExporter,
		flushTimeoutMillis: number = EXPORT_LIMITS.flushTimeoutMillis,
	) {
		this.flushTimeoutMillis = flushTimeoutMillis;
		const url = config.endpoint ? tracesUrl(config.endpoint) : undefined;
		const exporter =
			inner ??
			new OtlpHttpSpanExporter({
				url,
				headers: config.headers,
				timeoutMillis: EXPORT_LIMITS.exportTimeoutMillis,
				userAgent: `${INSTRUMENTATION_SCOPE.name}/${INSTRUMENTATION_SCOPE.version}`,
			});
		this.exporter = new ReportingExporter(
			exporter,
			url ??
				(exporter instanceof OtlpHttpSpanExporter
					? exporter.url
					: 'the OTEL_EXPORTER_OTLP_* endpoint'),
			this.reporter,
		);
		this.provider = new TracerProvider({
			resource: resourceFromAttributes({
				'service.name': config.serviceName || 'n8n-nodes-openagents',
			}),
			idGenerator: this.ids,
			spanProcessors: [
				new BatchSpanProcessor({
					exporter: this.exporter,
					maxQueueSize: EXPORT_LIMITS.maxQueueSize,
					maxExportBatchSize: EXPORT_LIMITS.maxExportBatchSize,
					scheduledDelayMillis: EXPORT_LIMITS.scheduledDelayMillis,
					exportTimeoutMillis: EXPORT_LIMITS.exportTimeoutMillis,
				}),
			],
		});
		this.tracer = this.provider.getTracer(
			INSTRUMENTATION_SCOPE.name,
			INSTRUMENTATION_SCOPE.version,
		);
	}

	/** Runs `start` (which must start a root span synchronously) so that the span gets `traceId`. */
	withTraceId<T>(traceId: string, start: () => T): T {
		return this.ids.withTraceId(traceId, start);
	}

	/**
	 * Sends the spans ended so far, waiting at most EXPORT_LIMITS.flushTimeoutMillis. While exports are failing (or
	 * once one took longer than that) it does not wait: the spans stay queued, bounded by maxQueueSize, and go out on
	 * the batch schedule, so a down or hanging endpoint does not slow nodes down. Never throws: a failure is reported.
	 */
	async flush(): Promise<void> {
		const flushing = this.provider
			.forceFlush({ timeoutMillis: this.flushTimeoutMillis })
			.catch((error: unknown) => {
				if (this.exporter.failing) return; // the exporter has reported it
				this.exporter.failing = true;
				this.reporter.report(
					`Tracing: sending spans to ${this.exporter.destination} did not finish (${String(error)}); nodes stop waiting for it until an export succeeds`,
				);
			});
		if (!this.exporter.failing) await flushing;
	}

	shutdown(): Promise<void> {
		return this.provider.shutdown();
	}
}

/**
 * The export the n8n process's environment asks for with the standard OTEL_EXPORTER_OTLP_* variables (and not off
 * through OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none), with whether to record content
 * (OPENAGENTS_TRACING_RECORD_CONTENT=true); undefined when tracing is not configured there.
 */
export function environmentTraceExport(
	env: Record<string, string | undefined> = process.env,
): { target: TraceExport; recordContent: boolean } | undefined {
	if (!(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT))
		return undefined;
	if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
	return {
		// No endpoint or headers: our OTLP exporter reads OTEL_EXPORTER_OTLP_* itself (otlp-http.ts).
		target: traceExportFor({ serviceName: env.OTEL_SERVICE_NAME }),
		recordContent: env.OPENAGENTS_TRACING_RECORD_CONTENT === 'true',
	};
}

const traceExports = new Map<string, TraceExport>();

/** The process's TraceExport for `config` (created on first use, then reused by every node run). */
export function traceExportFor(config: ExportConfig): TraceExport {
	const key = JSON.stringify([
		config.endpoint ?? '',
		config.headers ?? {},
		config.serviceName ?? '',
	]);
	let found = traceExports.get(key);
	if (!found) traceExports.set(key, (found = new TraceExport(config)));
	return found;
}

/**
 * Parses a header list in the OTEL_EXPORTER_OTLP_HEADERS format ("key1=value1,key2=value2", values may be
 * percent-encoded). Throws Error with the position of an entry without "=".
 */
export function parseHeaders(text: string): Record<string, string> {
	const headers: Record<string, string> = {};
	for (const [index, entry] of text.split(/[,\n]/).entries()) {
		if (!entry.trim()) continue;
		const at = entry.indexOf('=');
		// The entry itself is not quoted: it may hold a key.
		if (at < 1) throw new Error(`Header entry ${index + 1} is not in the form key=value`);
		headers[entry.slice(0, at).trim()] = decodeURIComponent(entry.slice(at + 1).trim());
	}
	return headers;
}
