/**
 * Spans from lib code without passing a tracer around: a node run puts its tracer (and whether prompts may be
 * recorded) into OpenTelemetry's active context (withTracing), and every inSpan below it, on any async path, finds it
 * there. Without one, inSpan runs its function with a non-recording span, so untraced runs pay one context lookup.
 */
import {
	context,
	createContextKey,
	INVALID_SPAN_CONTEXT,
	SpanStatusCode,
	trace,
	type Attributes,
	type Context,
	type Link,
	type Span,
	type SpanContext,
	type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

import { EVENTS } from './attributes';

/** What a traced run gives the spans below it. */
interface Tracing {
	tracer: Tracer;
	/** Whether prompts, completions, tool arguments/results and queries may be recorded (Record Content). */
	recordContent: boolean;
}

const TRACING = createContextKey('openagents.tracing');
const PROBE = createContextKey('openagents.context-probe');
const NOT_RECORDING: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

let contextManagerChecked = false;

/**
 * Spans nest through the active context, which needs a context manager. n8n registers one when its own tracing is on
 * (N8N_OTEL_ENABLED); otherwise we register AsyncLocalStorage's, once per process. The probe tells the two apart
 * without the API's "duplicate registration" error.
 */
export function ensureContextManager(): void {
	if (contextManagerChecked) return;
	contextManagerChecked = true;
	const propagates = context.with(
		context.active().setValue(PROBE, true),
		() => context.active().getValue(PROBE) === true,
	);
	if (!propagates) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** `base` with `tracing` set, for context.with. */
export function contextWithTracing(base: Context, tracing: Tracing): Context {
	return base.setValue(TRACING, tracing);
}

function activeTracing(): Tracing | undefined {
	return context.active().getValue(TRACING) as Tracing | undefined;
}

/** Whether the current traced run may record prompts and other content (false when not traced). */
export function recordsContent(): boolean {
	return activeTracing()?.recordContent === true;
}

/** Marks `span` failed with the error's type and message (no stack: it can hold request details). */
export function markFailed(span: Span, error: unknown): void {
	const message = error instanceof Error ? error.message : String(error);
	span.recordException({ name: error instanceof Error ? error.name : 'Error', message });
	span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `run` inside a child span of the active one, named `name` (OpenTelemetry span name: low cardinality, e.g.
 * "chat gpt-4o"), ended when `run` settles; a thrown error marks the span failed and is rethrown. Not traced: `run`
 * gets a non-recording span (setAttribute etc. are no-ops).
 */
export async function inSpan<T>(
	name: string,
	attributes: Attributes,
	run: (span: Span) => Promise<T>,
	options: { links?: Link[] } = {},
): Promise<T> {
	const tracing = activeTracing();
	if (!tracing) return run(NOT_RECORDING);
	return tracing.tracer.startActiveSpan(
		name,
		{ attributes, ...(options.links?.length ? { links: options.links } : {}) },
		async (span) => {
			try {
				return await run(span);
			} catch (error) {
				markFailed(span, error);
				throw error;
			} finally {
				span.end();
			}
		},
	);
}

/**
 * A finished span for something that took no work of ours (a task taken from a checkpoint, one skipped because
 * its dependency failed): started and ended at once, so the trace still shows every task of the plan. Returns its
 * span context (for links), undefined when not traced.
 */
export function recordInstant(
	name: string,
	attributes: Attributes,
	links: Link[] = [],
): SpanContext | undefined {
	const tracing = activeTracing();
	if (!tracing) return undefined;
	const span = tracing.tracer.startSpan(name, { attributes, ...(links.length ? { links } : {}) });
	span.end();
	return span.spanContext();
}

/** Records a failed attempt that will be retried as a `retry` event (attempt, delay_ms, error) on `span`. */
export function recordRetry(
	span: Span,
	{ attempt, delayMs, message }: { attempt: number; delayMs: number; message: string },
): void {
	span.addEvent(EVENTS.retry, { attempt, delay_ms: Math.round(delayMs), error: message });
}

/** JSON of `value` for a content attribute, cut at `maxChars` characters (default 16 000). */
export function contentAttribute(value: unknown, maxChars = 16_000): string {
	const text = typeof value === 'string' ? value : JSON.stringify(value);
	return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}
