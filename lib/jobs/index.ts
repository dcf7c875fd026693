export { JobsError, type JobsErrorCode } from './errors';
export {
	toJob,
	nodeOutput,
	EXECUTION_STATUSES,
	FINAL_STATUSES,
	FAILED_STATUSES,
	type ApiExecution,
	type ExecutionStatus,
	type Job,
} from './job';
export {
	N8nApiClient,
	type N8nApiConfig,
	type N8nApiOptions,
	type ExecutionFilter,
	type WorkflowSummary,
} from './n8n-api';
export { jobStats, type JobStats, type FailureGroup } from './metrics';
export {
	queueStatsFromRedis,
	queueStatsFromMetrics,
	type QueueStats,
	type RedisLike,
} from './queue';
export { waitForJob, type WaitOptions } from './wait';
export {
	retryJob,
	type RetryJobOptions,
	type RetryJobResult,
	type RetryAttempt,
} from './retry-job';
export { originalRuns, takeUnreported, sortById, type ReportedExecutions } from './reported';
export {
	summarize,
	usageFromCustomData,
	type ExecutionSummary,
	type ExecutionUsage,
} from './summary';
export {
	analyze,
	bucketFor,
	type Analytics,
	type AnalyticsWindow,
	type SeriesBucket,
	type WorkflowTotals,
} from './analytics';
export {
	indexNamespace,
	indexedExecutions,
	type ExecutionIndexOptions,
	type IndexCoverage,
	type IndexedExecutions,
} from './execution-index';
export { askWorkers, parseAnswer, rememberWorkers, type WorkerStatus } from './workers';
export { prometheusMetrics, type PrometheusInput } from './prometheus';
export {
	dashboardHtml,
	formatCost,
	formatDuration,
	DASHBOARD_RANGES,
	type DashboardInput,
} from './dashboard';
export {
	dashboardView,
	opsSnapshot,
	type DashboardView,
	type DashboardViewOptions,
	type OpsSnapshot,
	type OpsSnapshotOptions,
	type Part,
} from './ops-snapshot';
export { sharedRefresh, type Shared, type SharedRefreshOptions } from './shared-refresh';
