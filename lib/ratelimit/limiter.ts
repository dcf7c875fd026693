/**
 * One provider limit shared by every worker: requests per minute, tokens per minute and requests in flight, counted in
 * a shared store (rate-limiter-flexible on Redis or Postgres), plus a shared cool-down a provider's 429 sets. A caller
 * acquires a lease before each request (reserving the first clock-aligned window with room and waiting for its place
 * in it), settles it with the tokens the provider reported, and releases it when the request ends. When the store
 * fails, counting falls back to this process alone and the lease says so.
 */
import { createHash } from 'node:crypto';

import { sleep } from '../retry';
import { coolingMs, jitter, SLOT_TTL_SECONDS, type Counters } from './counters';
import {
	checkLimits,
	requestWindow,
	tokenWindow,
	type ProviderLimits,
	type Window,
} from './limits';
import { Reservation, type Attempt } from './reservation';
import { memoryLimiterStore, type LimiterStore } from './stores';

export class RateLimitWaitError extends Error {
	override name = 'RateLimitWaitError';
	readonly code = 'rate_limited';
}

interface AcquireOptions {
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

/** After the store failed, how long counting stays in this process before the store is tried again, ms. */
const STORE_RETRY_AFTER_MS = 5_000;

/** A store key: the name as is when short, else its SHA-256 (Postgres keys are ≤ 255 characters). */
function storeKey(name: string): string {
	return name.length <= 120 ? name : createHash('sha256').update(name).digest('hex');
}

interface ProviderRateLimiterOptions {
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
		// Each window is its own key "<key>:<window number>"; `keep` sets how long it lives (this duration is the default).
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
	 * of `options.tokens` tokens, then counts it. The request reserves the first window with room (and its evenly
	 * spaced place in it) and sleeps until then, so no window goes unused while requests wait, however late a busy
	 * process wakes. Throws RateLimitWaitError when the wait would exceed maxWaitMs, and the signal's reason when it
	 * aborts (giving its reservation back).
	 */
	async acquire(key: string, options: AcquireOptions = {}): Promise<Lease> {
		const started = Date.now();
		const maxWaitMs = options.maxWaitMs ?? 120_000;
		const id = storeKey(key);
		const tokens = options.tokens ?? 0;
		for (;;) {
			options.signal?.throwIfAborted();
			const deadline = started + maxWaitMs;
			let attempt: Attempt;
			if (this.failure && Date.now() < this.failure.until) {
				attempt = await this.tryAcquire(this.local, id, tokens, deadline, this.failure.warning);
			} else {
				try {
					await this.store.ready();
					attempt = await this.tryAcquire(this.shared, id, tokens, deadline, undefined);
					this.failure = undefined;
				} catch (error) {
					const warning = this.storeFailed(error);
					attempt = await this.tryAcquire(this.local, id, tokens, deadline, warning);
				}
			}
			if ('lease' in attempt) {
				const { lease, sendAt, giveBack } = attempt;
				let cooling = 0;
				try {
					if (sendAt > Date.now()) {
						await sleep(sendAt - Date.now(), options.signal);
						// A cool-down set while this request waited: give the place back and queue again after it, so
						// the requests held back do not all go at once when it ends.
						cooling = await coolingMs(attempt.counters, id);
					}
					options.signal?.throwIfAborted();
				} catch (error) {
					giveBack();
					lease.release();
					throw error;
				}
				if (cooling === 0) return { ...lease, waitMs: Date.now() - started };
				giveBack();
				lease.release();
				if (Date.now() + cooling > deadline) throw this.waitError(key, maxWaitMs, started, cooling);
				await sleep(
					jitter(cooling, () => this.random()),
					options.signal,
				);
				continue;
			}
			if (Date.now() + attempt.retryInMs > deadline)
				throw this.waitError(key, maxWaitMs, started, attempt.retryInMs);
			await sleep(attempt.retryInMs, options.signal);
		}
	}

	private waitError(key: string, maxWaitMs: number, started: number, nextMs: number) {
		return new RateLimitWaitError(
			`No rate-limit slot for "${key}" within ${maxWaitMs} ms (waited ${Date.now() - started} ms; the next is ${Math.round(nextMs)} ms away)`,
		);
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
	 * One try in `counters` (see Reservation): a reservation (the lease, when to send, and how to give the reservation
	 * back), or how long to wait before the next try. A store error is thrown.
	 */
	private tryAcquire(
		counters: Counters,
		key: string,
		tokens: number,
		deadline: number,
		warning: string | undefined,
	): Promise<Attempt> {
		return new Reservation(counters, key, {
			requestWindow: this.requestWindow,
			tokenWindow: this.tokenWindow,
			maxConcurrent: this.limits.maxConcurrent,
			random: () => this.random(),
		}).attempt(tokens, deadline, warning);
	}

	/** Random numbers in [0, 1) for jitter: the options' source, else Math.random. */
	private random(): number {
		return (this.options.random ?? Math.random)();
	}
}
