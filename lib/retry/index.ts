export { RetryPolicy, RetryPolicyError, MAX_DELAY_MS, type RetryPolicyJSON } from './policy';
export {
	NoRetryPolicy,
	FixedDelayRetryPolicy,
	ExponentialBackoffRetryPolicy,
	DEFAULT_RETRY_POLICY_CONFIG,
} from './policies';
export {
	withRetry,
	withTimeout,
	sleep,
	RetryExhaustedError,
	AttemptTimeoutError,
	messageOf,
	type AttemptRecord,
	type RetryContext,
	type RetryOptions,
} from './with-retry';
export {
	isRetryableError,
	isAbortError,
	httpStatusOf,
	errorChain,
	retryAfterMs,
	rateLimitResetMs,
	parseResetDuration,
	RETRYABLE_STATUSES,
	RETRYABLE_CODES,
} from './classify';
export { seededRandom, type RandomSource } from './random';
export { withAttemptSignal, attemptSignal, signalAwareFetch } from './attempt-signal';
