/**
 * A process sharing a rate limit with others (run with `node --import tsx`): argv[2] is JSON
 * { url, key, limits, loops, durationMs, seed, maxTokens, maxHoldMs, startAt }. Prints one JSON line: every lease it was
 * granted as { at, end, tokens } (ms since the epoch).
 */
import { limiterStoreFor, memoryLimiterStore, ProviderRateLimiter } from '../../lib/ratelimit';
import { seededRandom } from '../../lib/retry';

interface Config {
	url: string; // 'memory' = this process only
	key: string;
	prefix: string;
	limits: { requestsPerMinute?: number; tokensPerMinute?: number; maxConcurrent?: number };
	loops: number;
	durationMs: number;
	seed: number;
	maxTokens: number;
	maxHoldMs: number;
	startAt: number;
}

async function main() {
	const config = JSON.parse(process.argv[2]) as Config;
	const random = seededRandom(config.seed);
	const store = config.url === 'memory' ? memoryLimiterStore() : limiterStoreFor(config.url);
	const limiter = new ProviderRateLimiter(store, config.limits, { prefix: config.prefix, random });
	const grants: Array<{ at: number; end: number; tokens: number }> = [];
	await store.ready();
	await new Promise((r) => setTimeout(r, Math.max(0, config.startAt - Date.now())));
	const until = config.startAt + config.durationMs;
	await Promise.all(
		Array.from({ length: config.loops }, async () => {
			while (Date.now() < until) {
				const tokens = 1 + Math.floor(random() * config.maxTokens);
				const lease = await limiter
					.acquire(config.key, {
						tokens,
						maxWaitMs: until - Date.now() + 5_000,
					})
					.catch(() => undefined);
				if (!lease) return;
				const at = Date.now();
				await new Promise((r) => setTimeout(r, random() * config.maxHoldMs));
				const end = Date.now();
				lease.release();
				await lease.settle(tokens);
				if (at <= until) grants.push({ at, end, tokens });
			}
		}),
	);
	await limiter.close();
	process.stdout.write(JSON.stringify(grants) + '\n');
}

main().catch((error) => {
	process.stderr.write(String(error?.stack ?? error));
	process.exit(1);
});
