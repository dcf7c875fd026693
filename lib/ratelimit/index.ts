export {
	checkLimits,
	hasLimits,
	requestWindow,
	tokenWindow,
	RateLimitConfigError,
	type ProviderLimits,
} from './limits';
export { ProviderRateLimiter, RateLimitWaitError, type Lease } from './limiter';
export { memoryLimiterStore, limiterStoreFor, type LimiterStore } from './stores';
export { processRateLimiter, closeProcessRateLimiters } from './registry';
