export { GEN_AI, GEN_AI_OPERATION, N8N, OPENAGENTS } from './attributes';
export {
	contentAttribute,
	inSpan,
	markFailed,
	recordInstant,
	recordRetry,
	recordsContent,
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
export { traceNodeRun } from './run';
export {
	DEFAULT_TRACES_URL,
	OtlpHttpSpanExporter,
	otlpHttpSettings,
	type OtlpHttpOptions,
} from './otlp-http';
export { traceRequest, traceRequestJson } from './otlp-json';
