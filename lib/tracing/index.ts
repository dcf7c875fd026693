export { GEN_AI, GEN_AI_OPERATION, N8N, OPENAGENTS, EVENTS } from './attributes';
export {
	contentAttribute,
	inSpan,
	markFailed,
	recordInstant,
	recordRetry,
	recordsContent,
	type Tracing,
} from './spans';
export {
	EXPORT_LIMITS,
	executionTraceId,
	parseHeaders,
	traceExportFor,
	environmentTraceExport,
	tracesUrl,
	TraceExport,
	type ExportConfig,
} from './export';
export { traceNodeRun, type NodeRunInfo } from './run';
export {
	DEFAULT_TRACES_URL,
	OtlpHttpSpanExporter,
	otlpHttpSettings,
	type OtlpHttpOptions,
	type OtlpHttpSettings,
} from './otlp-http';
export { traceRequest, traceRequestJson, type OtlpTraceRequest } from './otlp-json';
