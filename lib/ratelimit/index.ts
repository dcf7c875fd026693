export {
	checkLimits,
	hasLimits,
	requestWindow,
	tokenWindow,
	RateLimitConfigError,
	type ProviderLimits,
	type Window,
} from './limits';
export {
	ProviderRateLimiter,
	RateLimitWaitError,
	type AcquireOptions,
	type Lease,
	type ProviderRateLimiterOptions,
} from './limiter';
export {
	memoryLimiterStore,
	redisLimiterStore,
	postgresLimiterStore,
	limiterStoreFor,
	POSTGRES_TABLE,
	STORE_COMMAND_TIMEOUT_MS,
	type LimiterStore,
	type CounterOptions,
} from './stores';
export { processRateLimiter, closeProcessRateLimiters } from './registry';
