/** The root span of one node run, and the context every span of the run hangs from. */
import { context, defaultTextMapGetter, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

import { N8N } from './attributes';
import type { TraceExport } from './export';
import { executionTraceId } from './export';
import { contextWithTracing, ensureContextManager, markFailed } from './spans';

interface NodeRunInfo {
	executionId?: string;
	workflowId?: string;
	nodeName: string;
	nodeType: string;
	/**
	 * W3C trace context of n8n's own node span (n8n ≥ 2.19 with N8N_OTEL_ENABLED): the run's span becomes its child,
	 * so it joins n8n's trace of the execution.
	 */
	parent?: { traceparent: string; tracestate?: string };
	/** Record Content: prompts, completions, tool arguments/results and queries on the spans. */
	recordContent: boolean;
}

const w3c = new W3CTraceContextPropagator();

/**
 * Runs `run` inside the node run's span (named after the node) and flushes the export before returning, so a worker
 * that exits right after loses nothing. The span's parent is, in order: the active span (the node runs as a tool
 * of a traced agent), n8n's node span (`info.parent`), or none, with the trace ID derived from the execution
 * (executionTraceId) so all traced nodes of one execution share a trace. `run` gets the trace ID.
 */
export async function traceNodeRun<T>(
	target: TraceExport,
	info: NodeRunInfo,
	run: (traceId: string, span: Span) => Promise<T>,
): Promise<T> {
	ensureContextManager();
	let base = context.active();
	if (!trace.getSpanContext(base) && info.parent)
		base = w3c.extract(base, info.parent, defaultTextMapGetter);
	const attributes = {
		[N8N.nodeName]: info.nodeName,
		[N8N.nodeType]: info.nodeType,
		...(info.executionId ? { [N8N.executionId]: info.executionId } : {}),
		...(info.workflowId ? { [N8N.workflowId]: info.workflowId } : {}),
	};
	const start = () => target.tracer.startSpan(info.nodeName, { attributes }, base);
	const span =
		trace.getSpanContext(base) || !info.executionId
			? start()
			: target.withTraceId(executionTraceId(info.workflowId ?? '', info.executionId), start);
	const runContext = contextWithTracing(trace.setSpan(base, span), {
		tracer: target.tracer,
		recordContent: info.recordContent,
	});
	try {
		return await context.with(runContext, () => run(span.spanContext().traceId, span));
	} catch (error) {
		markFailed(span, error);
		throw error;
	} finally {
		span.end();
		await target.flush();
	}
}
