/**
 * One provider limit shared by every worker: requests per minute, tokens per minute and requests in flight, counted in
 * a shared store (rate-limiter-flexible on Redis or Postgres), plus a shared cool-down a provider's 429 sets. A caller
 * acquires a lease before each request (waiting while the limit is reached), settles it with the tokens the provider
 * reported, and releases it when the request ends. When the store fails, counting falls back to this process alone
 * and the lease says so.
 */
import { createHash } from 'node:crypto';

import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

import { sleep } from '../retry';
import {
	checkLimits,
	requestWindow,
	tokenWindow,
	type ProviderLimits,
	type Window,
} from './limits';
import { memoryLimiterStore, type LimiterStore } from './stores';

export class RateLimitWaitError extends Error {
	override name = 'RateLimitWaitError';
	readonly code = 'rate_limited';
}

export interface AcquireOptions {
	/** Tokens the request is estimated to use (prompt estimate; corrected by settle). Default 0. */
	tokens?: number;
	/** Aborts the wait (n8n: the execution's cancel signal). */
	signal?: AbortSignal;
	/** Longest wait for a slot, ms; beyond it acquire throws RateLimitWaitError. Default 120 000. */
	maxWaitMs?: number;
}

export interface Lease {
	/** How long acquire waited for the slot, ms. */
	readonly waitMs: number;
	/** Set when the shared store failed and this request was counted in this process only. */
	readonly warning?: string;
	/** Corrects the tokens charged to what the provider reported (within the window the request was counted in). */
	settle(actualTokens: number): Promise<void>;
	/** Frees the request's concurrency slot; call once the request has ended. Idempotent. */
	release(): void;
}

/** The counters of one store: per-window requests and tokens, concurrency slots, and the cool-down. */
interface Counters {
	requests?: RateLimiterAbstract;
	tokens?: RateLimiterAbstract;
	slots?: RateLimiterAbstract;
	coolDown: RateLimiterAbstract;
}

/** A slot held by a worker that died is freed after this long, s (longer than any request we allow). */
const SLOT_TTL_SECONDS = 600;
/** After the store failed, how long counting stays in this process before the store is tried again, ms. */
const STORE_RETRY_AFTER_MS = 5_000;
/** How often a waiter for a concurrency slot looks again, ms (jittered ± half). */
const SLOT_POLL_MS = 50;

type Attempt = { lease: Lease } | { retryInMs: number };

function isRejection(value: unknown): value is RateLimiterRes {
	return value instanceof RateLimiterRes;
}

/** A store key: the name as is when short, else its SHA-256 (Postgres keys are ≤ 255 characters). */
function storeKey(name: string): string {
	return name.length <= 120 ? name : createHash('sha256').update(name).digest('hex');
}

/** The clock-aligned window `now` falls in (window n covers [n × ms, (n + 1) × ms)), the same in every worker. */
function windowAt(window: Window, now: number) {
	const index = Math.floor(now / window.ms);
	return { index, endsAt: (index + 1) * window.ms };
}

export interface ProviderRateLimiterOptions {
	/** Key prefix in the store (default "openagents:rl"). */
	prefix?: string;
	/** Receives a line when the store fails and counting falls back to this process (once per failing streak). */
	log?: (line: string) => void;
	/** Random numbers in [0, 1) for jitter (tests pass a seeded source). */
	random?: () => number;
}

export class ProviderRateLimiter {
	private readonly shared: Counters;
	private readonly local: Counters;
	private readonly requestWindow?: Window;
	private readonly tokenWindow?: Window;
	/** While the store is failing: its warning, and until when counting stays local (ms since the epoch). */
	private failure?: { warning: string; until: number };

	/** Throws RateLimitConfigError when a limit is negative or fractional. */
	constructor(
		private readonly store: LimiterStore,
		readonly limits: ProviderLimits,
		private readonly options: ProviderRateLimiterOptions = {},
	) {
		checkLimits(limits);
		if (limits.requestsPerMinute) this.requestWindow = requestWindow(limits.requestsPerMinute);
		if (limits.tokensPerMinute) this.tokenWindow = tokenWindow(limits.tokensPerMinute);
		this.shared = this.counters(store);
		this.local = store.kind === 'memory' ? this.shared : this.counters(memoryLimiterStore());
	}

	private counters(store: LimiterStore): Counters {
		const prefix = this.options.prefix ?? 'openagents:rl';
		// Each window is its own key (see windowAt), kept a little longer than the window itself (whole seconds).
		const counter = (name: string, window: Window) =>
			store.counter({
				keyPrefix: `${prefix}:${name}`,
				points: window.points,
				duration: Math.max(1, Math.ceil((2 * window.ms) / 1000)),
			});
		return {
			requests: this.requestWindow && counter('rpm', this.requestWindow),
			tokens: this.tokenWindow && counter('tpm', this.tokenWindow),
			slots: this.limits.maxConcurrent
				? store.counter({ keyPrefix: `${prefix}:slot`, points: 1, duration: SLOT_TTL_SECONDS })
				: undefined,
			coolDown: store.counter({ keyPrefix: `${prefix}:cool`, points: 1, duration: 1 }),
		};
	}

	/**
	 * Waits until `key` (a provider and model, e.g. "https://api.openai.com/v1#gpt-4o-mini") has room for one request
	 * of `options.tokens` tokens, then counts it. Throws RateLimitWaitError when the wait would exceed maxWaitMs, and
	 * the signal's reason when it aborts.
	 */
	async acquire(key: string, options: AcquireOptions = {}): Promise<Lease> {
		const started = Date.now();
		const maxWaitMs = options.maxWaitMs ?? 120_000;
		const id = storeKey(key);
		for (;;) {
			options.signal?.throwIfAborted();
			let attempt: Attempt;
			const tokens = options.tokens ?? 0;
			if (this.failure && Date.now() < this.failure.until) {
				attempt = await this.tryAcquire(this.local, id, tokens, started, this.failure.warning);
			} else {
				try {
					await this.store.ready();
					attempt = await this.tryAcquire(this.shared, id, tokens, started, undefined);
					this.failure = undefined;
				} catch (error) {
					const warning = this.storeFailed(error);
					attempt = await this.tryAcquire(this.local, id, tokens, started, warning);
				}
			}
			if ('lease' in attempt) return attempt.lease;
			const waited = Date.now() - started;
			if (waited + attempt.retryInMs > maxWaitMs)
				throw new RateLimitWaitError(
					`No rate-limit slot for "${key}" within ${maxWaitMs} ms (waited ${waited} ms; the next is ${Math.round(attempt.retryInMs)} ms away)`,
				);
			await sleep(attempt.retryInMs, options.signal);
		}
	}

	/**
	 * Every worker waits `ms` before its next request to `key` (a provider's 429 with Retry-After). The store counts in
	 * whole seconds, so the wait is rounded up to the next second.
	 */
	async coolDown(key: string, ms: number): Promise<void> {
		const seconds = Math.max(1, Math.ceil(ms / 1000));
		try {
			await this.store.ready();
			await this.shared.coolDown.block(storeKey(key), seconds);
		} catch (error) {
			this.storeFailed(error);
			await this.local.coolDown.block(storeKey(key), seconds);
		}
	}

	async close(): Promise<void> {
		await this.store.close();
	}

	/**
	 * Notes a store failure: counting stays local for STORE_RETRY_AFTER_MS (no call waits for a failing store meanwhile),
	 * and the first failure of a streak is logged. Returns the warning for the leases.
	 */
	private storeFailed(error: unknown): string {
		const warning = `The rate limit store (${this.store.kind}) failed, so this request was limited in this n8n process only: ${(error as Error)?.message ?? String(error)}`;
		if (!this.failure) this.options.log?.(warning);
		this.failure = { warning, until: Date.now() + STORE_RETRY_AFTER_MS };
		return warning;
	}

	/**
	 * One try: a lease, or how long to wait before the next try (rejections from the counters are waits, not errors).
	 * The cool-down check and the request and token counts go to the store at once (one round trip); what was
	 * counted is taken back when another part refused.
	 */
	private async tryAcquire(
		counters: Counters,
		key: string,
		tokens: number,
		started: number,
		warning: string | undefined,
	): Promise<Attempt> {
		const slot = await this.takeSlot(counters, key);
		if (slot === null) return { retryInMs: SLOT_POLL_MS / 2 + this.jitter(SLOT_POLL_MS / 2) };
		const freeSlot = () => {
			if (slot !== undefined) void counters.slots!.delete(`${key}:${slot}`).catch(() => {});
		};
		const now = Date.now();
		const requests = this.requestWindow && windowAt(this.requestWindow, now);
		const tokenWindow = this.tokenWindow && windowAt(this.tokenWindow, now);
		const charged = Math.min(Math.max(0, Math.round(tokens)), this.tokenWindow?.points ?? 0);
		const requestKey = requests && `${key}:${requests.index}`;
		const tokenKey = tokenWindow && charged > 0 ? `${key}:${tokenWindow.index}` : undefined;
		const [blocked, counted, tokensCounted] = await Promise.allSettled([
			counters.coolDown.get(key),
			requestKey ? counters.requests!.consume(requestKey, 1) : undefined,
			tokenKey ? counters.tokens!.consume(tokenKey, charged) : undefined,
		]);
		for (const result of [blocked, counted, tokensCounted])
			if (result.status === 'rejected' && !isRejection(result.reason)) {
				freeSlot();
				throw result.reason;
			}
		const coolingMs =
			blocked.status === 'fulfilled' && blocked.value && blocked.value.consumedPoints > 1
				? blocked.value.msBeforeNext
				: 0;
		const requestRefused = counted.status === 'rejected';
		const tokensRefused = tokensCounted.status === 'rejected';
		if (coolingMs > 0 || requestRefused || tokensRefused) {
			freeSlot();
			// A refused count still adds up in the store: take back this try's counts, refused or not, so a refused
			// request does not hold back others for the rest of the window.
			if (requestKey) void counters.requests!.reward(requestKey, 1).catch(() => {});
			if (tokenKey) void counters.tokens!.reward(tokenKey, charged).catch(() => {});
			const waits = [coolingMs];
			if (requestRefused) waits.push(requests!.endsAt - now);
			if (tokensRefused) waits.push(tokenWindow!.endsAt - now);
			return { retryInMs: this.jitter(Math.max(...waits)) };
		}
		// The tokens of a request charged nothing (no estimate) are charged after the call, in the current window.
		const settleKey = () =>
			tokenKey ?? (tokenWindow && `${key}:${windowAt(this.tokenWindow!, Date.now()).index}`);
		let released = false;
		return {
			lease: {
				waitMs: Date.now() - started,
				...(warning ? { warning } : {}),
				settle: async (actual) => {
					const difference = Math.round(actual) - charged;
					const target = settleKey();
					if (!target || difference === 0) return;
					// After the window rolled over, the correction would land in a window the request was not in.
					if (tokenKey && Date.now() >= tokenWindow!.endsAt) return;
					await (
						difference > 0
							? counters.tokens!.penalty(target, difference)
							: counters.tokens!.reward(target, -difference)
					).catch(() => {});
				},
				release: () => {
					if (released) return;
					released = true;
					freeSlot();
				},
			},
		};
	}

	/** A wait plus up to 10 ms, so waiters for the same moment do not all reach the store in the same instant. */
	private jitter(ms: number): number {
		return ms + 10 * (this.options.random ?? Math.random)();
	}

	/**
	 * A concurrency slot: slot i is key "<key>:i" holding 1 point while taken (a second consume is rejected), deleted on
	 * release, expiring after SLOT_TTL_SECONDS if its holder died. Slots are tried from a random start so waiters
	 * spread. Returns the slot number, undefined when there is no concurrency limit, null when every slot is taken.
	 */
	private async takeSlot(counters: Counters, key: string): Promise<number | null | undefined> {
		const n = this.limits.maxConcurrent;
		if (!n || !counters.slots) return undefined;
		const start = Math.floor((this.options.random ?? Math.random)() * n);
		for (let i = 0; i < n; i++) {
			const slot = (start + i) % n;
			try {
				await counters.slots.consume(`${key}:${slot}`, 1);
				return slot;
			} catch (rejection) {
				if (!isRejection(rejection)) throw rejection;
			}
		}
		return null;
	}
}
