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
/** How often a waiter for a concurrency slot looks again, ms (jittered ± half). */
const SLOT_POLL_MS = 50;

/** A try that got its counts: the lease, and how long to wait for its evenly spaced place in the window, ms. */
type Attempt = { lease: Lease; paceMs: number } | { retryInMs: number };

function isRejection(value: unknown): value is RateLimiterRes {
	return value instanceof RateLimiterRes;
}

/** A store key: the name as is when short, else its SHA-256 (Postgres keys are ≤ 255 characters). */
function storeKey(name: string): string {
	return name.length <= 120 ? name : createHash('sha256').update(name).digest('hex');
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
	private storeFailing = false;

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
		const counter = (name: string, window: Window) =>
			store.counter({
				keyPrefix: `${prefix}:${name}`,
				points: window.points,
				duration: window.seconds,
			});
		return {
			requests: this.requestWindow && counter('rpm', this.requestWindow),
			tokens: this.tokenWindow && counter('tpm', this.tokenWindow),
			slots: this.limits.maxConcurrent
				? counter('slot', { points: 1, seconds: SLOT_TTL_SECONDS })
				: undefined,
			coolDown: counter('cool', { points: 1, seconds: 1 }),
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
			let warning: string | undefined;
			try {
				await this.store.ready();
				attempt = await this.tryAcquire(this.shared, id, options.tokens ?? 0, started, undefined);
				this.storeFailing = false;
			} catch (error) {
				if (isRejection(error)) throw error; // not expected: tryAcquire turns rejections into waits
				warning = this.storeFailed(error);
				attempt = await this.tryAcquire(this.local, id, options.tokens ?? 0, started, warning);
			}
			if ('lease' in attempt) {
				if (attempt.paceMs > 0)
					await sleep(attempt.paceMs, options.signal).catch((error: unknown) => {
						attempt.lease.release();
						throw error;
					});
				return { ...attempt.lease, waitMs: Date.now() - started };
			}
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

	private storeFailed(error: unknown): string {
		const warning = `The rate limit store (${this.store.kind}) failed, so this request was limited in this n8n process only: ${(error as Error)?.message ?? String(error)}`;
		if (!this.storeFailing) this.options.log?.(warning);
		this.storeFailing = true;
		return warning;
	}

	/** One try: a lease, or how long to wait before the next try (rejections from the counters are waits, not errors). */
	private async tryAcquire(
		counters: Counters,
		key: string,
		tokens: number,
		started: number,
		warning: string | undefined,
	): Promise<Attempt> {
		const jitter = (ms: number) => ms + ms * 0.1 * (this.options.random ?? Math.random)();
		const blocked = await counters.coolDown.get(key);
		if (blocked && blocked.consumedPoints > 1 && blocked.msBeforeNext > 0)
			return { retryInMs: jitter(blocked.msBeforeNext) };

		const slot = await this.takeSlot(counters, key);
		if (slot === null) return { retryInMs: SLOT_POLL_MS / 2 + jitter(SLOT_POLL_MS / 2) };
		const freeSlot = () => {
			if (slot !== undefined) void counters.slots!.delete(`${key}:${slot}`).catch(() => {});
		};
		let paceMs = 0;
		try {
			if (counters.requests) {
				const res = await counters.requests.consume(key, 1);
				paceMs = this.pace(res);
			}
		} catch (rejection) {
			freeSlot();
			if (!isRejection(rejection)) throw rejection;
			return { retryInMs: jitter(rejection.msBeforeNext) };
		}
		const charged = Math.min(Math.max(0, Math.round(tokens)), this.tokenWindow?.points ?? 0);
		let windowEndsAt = 0;
		if (counters.tokens && charged > 0) {
			try {
				const res = await counters.tokens.consume(key, charged);
				windowEndsAt = Date.now() + res.msBeforeNext;
			} catch (rejection) {
				freeSlot();
				if (!isRejection(rejection)) throw rejection;
				// A refused count still adds up in the store: take it back, with the request's, so a large refused
				// request does not hold back smaller ones for the rest of the window.
				void counters.tokens.reward(key, charged).catch(() => {});
				if (counters.requests) void counters.requests.reward(key, 1).catch(() => {});
				return { retryInMs: jitter(rejection.msBeforeNext) };
			}
		}
		let released = false;
		return {
			paceMs,
			lease: {
				waitMs: Date.now() - started,
				...(warning ? { warning } : {}),
				settle: async (actual) => {
					const difference = Math.round(actual) - charged;
					if (!counters.tokens || difference === 0) return;
					// After the window rolled over, the correction would land in a window the request was not in.
					if (charged > 0 && Date.now() >= windowEndsAt) return;
					await (
						difference > 0
							? counters.tokens.penalty(key, difference)
							: counters.tokens.reward(key, -difference)
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

	/**
	 * The wait that puts the n-th request of a window at its evenly spaced place (window start + (n − 1) × window ÷
	 * points), so requests flow at the provider's rate instead of a window's worth at once: providers refill their
	 * buckets continuously (a leaky bucket accepts an even flow, not bursts at window boundaries).
	 */
	private pace(res: RateLimiterRes): number {
		const window = this.requestWindow!;
		const windowMs = window.seconds * 1000;
		const start = Date.now() + res.msBeforeNext - windowMs;
		return Math.max(0, start + ((res.consumedPoints - 1) * windowMs) / window.points - Date.now());
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
