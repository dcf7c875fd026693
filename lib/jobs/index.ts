export { JobsError, type JobsErrorCode } from './errors';
export {
	toJob,
	nodeOutput,
	EXECUTION_STATUSES,
	FAILED_STATUSES,
	type ApiExecution,
	type ExecutionStatus,
	type Job,
} from './job';
export { N8nApiClient, type N8nApiOptions, type ExecutionFilter } from './n8n-api';
export { jobStats } from './metrics';
export { queueStatsFromRedis, queueStatsFromMetrics } from './queue';
export { waitForJob } from './wait';
export { retryJob } from './retry-job';
export { originalRuns, takeUnreported, sortById, type ReportedExecutions } from './reported';
export { summarize, usageFromCustomData, type ExecutionSummary } from './summary';
export { analyze, bucketFor } from './analytics';
export {
	indexNamespace,
	indexedExecutions,
	type IndexCoverage,
	type IndexedExecutions,
} from './execution-index';
export {
	addSummary,
	analyzeCells,
	rollupByWorkflow,
	type Cell,
	type MinuteCells,
	type WorkflowRollup,
} from './execution-aggregates';
export { indexAnalytics, indexFailureWorkflows, indexRollup } from './index-analytics';
export { askWorkers, parseAnswer, rememberWorkers } from './workers';
export { prometheusMetrics } from './prometheus';
export {
	dashboardHtml,
	formatCost,
	formatDuration,
	DASHBOARD_RANGES,
	type DashboardInput,
} from './dashboard';
export { dashboardView, opsSnapshot, type OpsSnapshotOptions, type Part } from './ops-snapshot';
