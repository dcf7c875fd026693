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
export { takeUnreported, sortById, type ReportedExecutions } from './reported';
