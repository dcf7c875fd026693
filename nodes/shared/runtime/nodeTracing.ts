/**
 * Tracing for a node run: from the node's OpenAgents Tracing API credential (each traced node lists it, optional, as a
 * literal entry of its `credentials`, which n8n's scanner reads), else from the standard OTEL_EXPORTER_OTLP_*
 * environment variables of the n8n process, else off. A traced run gets a span named after the node (joined to
 * n8n's own node span when n8n's tracing is on), each item a span of its own, and every output item the trace ID.
 */
import type { Attributes } from '@opentelemetry/api';
import type { IExecuteFunctions, EngineRequest, INodeExecutionData } from 'n8n-workflow';

import {
	inSpan,
	N8N,
	OPENAGENTS,
	parseHeaders,
	traceExportFor,
	environmentTraceExport,
	traceNodeRun,
	type ExportConfig,
} from '../../../lib/tracing';
import type { UsageTracker } from '../../../lib/llm';

const CREDENTIAL = 'openAgentsTracingApi';

function exportConfigOf(data: Record<string, unknown>): ExportConfig {
	const headers = String(data.headers ?? '').trim();
	return {
		endpoint: String(data.endpoint ?? ''),
		...(headers ? { headers: parseHeaders(headers) } : {}),
		serviceName: String(data.serviceName ?? '') || undefined,
	};
}

type NodeTracing = NonNullable<ReturnType<typeof environmentTraceExport>>;

async function nodeTracing(fn: IExecuteFunctions): Promise<NodeTracing | undefined> {
	if (!fn.getNode().credentials?.[CREDENTIAL]) return environmentTraceExport();
	const data = await fn.getCredentials(CREDENTIAL);
	return {
		target: traceExportFor(exportConfigOf(data)),
		recordContent: data.recordContent === true,
	};
}

/**
 * The W3C trace context of n8n's own span for this node, when n8n's tracing is on (N8N_OTEL_ENABLED, n8n ≥ 2.19).
 * n8n does not make that span active while a node runs; it exposes it only to its HTTP helpers, through
 * `additionalData.otel.injectTraceHeaders` (n8n 2.41), which we call the same way. Undefined otherwise.
 */
function n8nTraceContext(
	fn: IExecuteFunctions,
): { traceparent: string; tracestate?: string } | undefined {
	const otel = (
		fn as unknown as {
			additionalData?: {
				otel?: {
					injectTraceHeaders?: (
						executionId: string,
						nodeName: string,
						headers: Record<string, string>,
					) => void;
				};
			};
		}
	).additionalData?.otel;
	if (typeof otel?.injectTraceHeaders !== 'function') return undefined;
	const headers: Record<string, string> = {};
	try {
		otel.injectTraceHeaders(fn.getExecutionId(), fn.getNode().name, headers);
	} catch (error) {
		fn.logger.warn(`Tracing: n8n's trace context is not available: ${(error as Error).message}`);
		return undefined;
	}
	return headers.traceparent
		? { traceparent: headers.traceparent, tracestate: headers.tracestate }
		: undefined;
}

/**
 * Runs the node's `run` traced when tracing is configured (see the file comment), else as is. Traced: every output
 * item gets `traceId`; the spans are flushed before this returns; an export failure is logged, never thrown.
 */
export async function traced<T extends INodeExecutionData[][] | EngineRequest>(
	fn: IExecuteFunctions,
	run: () => Promise<T>,
): Promise<T> {
	const tracing = await nodeTracing(fn);
	if (!tracing) return run();
	tracing.target.reporter.report = (message) => fn.logger.warn(message);
	const node = fn.getNode();
	return traceNodeRun(
		tracing.target,
		{
			executionId: fn.getExecutionId(),
			workflowId: String(fn.getWorkflow().id ?? ''),
			nodeName: node.name,
			nodeType: node.type,
			parent: n8nTraceContext(fn),
			recordContent: tracing.recordContent,
		},
		async (traceId, span) => {
			const outputs = await run();
			// A run waiting for approval has no items yet (its EngineRequest goes to n8n as it is).
			if (!Array.isArray(outputs)) return outputs;
			span.setAttribute(
				N8N.nodeItemsOutput,
				outputs.reduce((n, items) => n + items.length, 0),
			);
			for (const item of outputs.flat()) item.json = { ...item.json, traceId };
			return outputs;
		},
	);
}

/**
 * Runs one item's work in a span `name` with the item's index (a plain call when not traced); `usage` gives the
 * item's usage tracker, whose token totals go on the span when the work ends, failed or not.
 */
export function traceItem<T>(
	itemIndex: number,
	name: string,
	attributes: Attributes,
	run: () => Promise<T>,
	usage: () => UsageTracker | undefined = () => undefined,
): Promise<T> {
	return inSpan(name, { [N8N.itemIndex]: itemIndex, ...attributes }, async (span) => {
		try {
			return await run();
		} finally {
			const totals = usage()?.get();
			if (totals)
				span.setAttributes({
					[OPENAGENTS.usagePromptTokens]: totals.promptTokens,
					[OPENAGENTS.usageCompletionTokens]: totals.completionTokens,
					[OPENAGENTS.usageModelCalls]: totals.modelCalls,
				});
		}
	});
}
