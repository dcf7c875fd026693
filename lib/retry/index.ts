export { RetryPolicy, RetryPolicyError, type RetryPolicyJSON } from './policy';
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
} from './with-retry';
export {
	isRetryableError,
	httpStatusOf,
	errorChain,
	retryAfterMs,
	rateLimitResetMs,
	parseResetDuration,
} from './classify';
export { seededRandom } from './random';
export { withAttemptSignal, signalAwareFetch } from './attempt-signal';
