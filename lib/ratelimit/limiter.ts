/**
 * One provider limit shared by every worker: requests per minute, tokens per minute and requests in flight, counted in
 * a shared store (rate-limiter-flexible on Redis or Postgres), plus a shared cool-down a provider's 429 sets. A caller
 * acquires a lease before each request (reserving the first clock-aligned window with room and waiting for its place
 * in it), settles it with the tokens the provider reported, and releases it when the request ends. When the store
 * fails, counting falls back to this process alone and the lease says so.
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

/**
 * Store options that keep a window's key until the window has ended (plus a second): windows are reserved ahead, so
 * a key may be written long before its window comes. Whole seconds, as the stores count.
 */
function keep(endsAt: number) {
	return { customDuration: Math.max(1, Math.ceil((endsAt - Date.now()) / 1000) + 1) };
}

/** A reservation (send at `sendAt`, ms since the epoch; `giveBack` returns its counts), or a wait before trying again. */
type Attempt =
	| { lease: Lease; sendAt: number; giveBack: () => void; counters: Counters }
	| { retryInMs: number };

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
				let coolingMs = 0;
				try {
					if (sendAt > Date.now()) {
						await sleep(sendAt - Date.now(), options.signal);
						// A cool-down set while this request waited: give the place back and queue again after it, so
						// the requests held back do not all go at once when it ends.
						coolingMs = await this.coolingMs(attempt.counters, id);
					}
					options.signal?.throwIfAborted();
				} catch (error) {
					giveBack();
					lease.release();
					throw error;
				}
				if (coolingMs === 0) return { ...lease, waitMs: Date.now() - started };
				giveBack();
				lease.release();
				if (Date.now() + coolingMs > deadline)
					throw this.waitError(key, maxWaitMs, started, coolingMs);
				await sleep(this.jitter(coolingMs), options.signal);
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

	/** How long the key's cool-down still holds, ms (0 when none); a store error is thrown. */
	private async coolingMs(counters: Counters, key: string): Promise<number> {
		const blocked = await counters.coolDown.get(key).catch((error: unknown) => {
			if (isRejection(error)) return null;
			throw error;
		});
		return blocked && blocked.consumedPoints > 1 ? blocked.msBeforeNext : 0;
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
	 * One try: a reservation (the lease, when to send, and how to give the reservation back), or how long to wait
	 * before the next try. The cool-down check and the first window's count go to the store together; when that window
	 * is full, the next ones are tried in turn (a refused count only ever lands in a full window, so it takes nothing
	 * from anyone) up to `deadline`. Tokens are counted in the token window the request will be sent in.
	 */
	private async tryAcquire(
		counters: Counters,
		key: string,
		tokens: number,
		deadline: number,
		warning: string | undefined,
	): Promise<Attempt> {
		const now = Date.now();
		const window = this.requestWindow;
		let index = window ? Math.floor(now / window.ms) : 0;
		const requestKey = () => `${key}:${index}`;
		const giveBackRequest = () => {
			if (window)
				void counters
					.requests!.reward(requestKey(), 1, keep((index + 1) * window.ms))
					.catch(() => {});
		};
		// The common case in one round trip: a free concurrency slot (tried from a random one, so waiters spread), the
		// cool-down check and the current window's count.
		const slots = (counters.slots && this.limits.maxConcurrent) || 0;
		const firstSlot = Math.floor((this.options.random ?? Math.random)() * slots);
		const [slotTaken, cooling, counted] = await Promise.allSettled([
			slots ? this.takeSlot(counters, key, firstSlot, 1) : undefined,
			this.coolingMs(counters, key),
			window ? this.count(counters.requests!, requestKey(), 1, (index + 1) * window.ms) : undefined,
		]);
		let slot = slotTaken.status === 'fulfilled' ? slotTaken.value : null;
		const freeSlot = () => {
			if (slot !== null && slot !== undefined)
				void counters.slots!.delete(`${key}:${slot}`).catch(() => {});
		};
		const failed = [slotTaken, cooling, counted].find((r) => r.status === 'rejected');
		if (failed) {
			freeSlot();
			if (counted.status === 'fulfilled' && counted.value) giveBackRequest();
			throw (failed as PromiseRejectedResult).reason;
		}
		const first = (counted as PromiseFulfilledResult<number | null | undefined>).value;
		if (slots && slot === null) slot = await this.takeSlot(counters, key, firstSlot + 1, slots - 1);
		const coolingMs = (cooling as PromiseFulfilledResult<number>).value;
		if (slot === null || coolingMs > 0) {
			freeSlot();
			if (first) giveBackRequest();
			return {
				retryInMs:
					coolingMs > 0 ? this.jitter(coolingMs) : SLOT_POLL_MS / 2 + this.jitter(SLOT_POLL_MS / 2),
			};
		}
		try {
			let position = first;
			while (window && position === null) {
				index++;
				if (index * window.ms > deadline) {
					freeSlot();
					return { retryInMs: index * window.ms - now };
				}
				position = await this.count(counters.requests!, requestKey(), 1, (index + 1) * window.ms);
			}
			const sendAt = window
				? Math.max(now, index * window.ms + ((position! - 1) * window.ms) / window.points)
				: now;

			const charged = Math.min(Math.max(0, Math.round(tokens)), this.tokenWindow?.points ?? 0);
			const tokenIndex = this.tokenWindow && Math.floor(sendAt / this.tokenWindow.ms);
			const tokenKey = tokenIndex !== undefined ? `${key}:${tokenIndex}` : undefined;
			const tokensEnd = tokenIndex !== undefined ? (tokenIndex + 1) * this.tokenWindow!.ms : 0;
			if (
				tokenKey &&
				charged > 0 &&
				(await this.count(counters.tokens!, tokenKey, charged, tokensEnd)) === null
			) {
				// Refused: the tokens were still added; give them back with the request's place.
				void counters.tokens!.reward(tokenKey, charged, keep(tokensEnd)).catch(() => {});
				giveBackRequest();
				freeSlot();
				return { retryInMs: this.jitter(tokensEnd - now) };
			}
			let released = false;
			return {
				counters,
				sendAt,
				giveBack: () => {
					giveBackRequest();
					if (tokenKey && charged > 0)
						void counters.tokens!.reward(tokenKey, charged, keep(tokensEnd)).catch(() => {});
				},
				lease: {
					waitMs: 0,
					...(warning ? { warning } : {}),
					settle: async (actual) => {
						const difference = Math.round(actual) - charged;
						if (!tokenKey || difference === 0) return;
						// After the window rolled over, the correction would land in a window the request was not in.
						if (Date.now() >= tokensEnd) return;
						await (
							difference > 0
								? counters.tokens!.penalty(tokenKey, difference, keep(tokensEnd))
								: counters.tokens!.reward(tokenKey, -difference, keep(tokensEnd))
						).catch(() => {});
					},
					release: () => {
						if (released) return;
						released = true;
						freeSlot();
					},
				},
			};
		} catch (error) {
			freeSlot();
			throw error;
		}
	}

	/**
	 * Counts `points` on a window key (kept until its window ends at `endsAt`): the count after it, or null when the
	 * window was already full.
	 */
	private async count(
		counter: RateLimiterAbstract,
		key: string,
		points: number,
		endsAt: number,
	): Promise<number | null> {
		try {
			return (await counter.consume(key, points, keep(endsAt))).consumedPoints;
		} catch (rejection) {
			if (isRejection(rejection)) return null;
			throw rejection;
		}
	}

	/** A wait plus up to 10 ms, so waiters for the same moment do not all reach the store in the same instant. */
	private jitter(ms: number): number {
		return ms + 10 * (this.options.random ?? Math.random)();
	}

	/**
	 * A concurrency slot: slot i is key "<key>:i" holding 1 point while taken (a second consume is rejected), deleted on
	 * release, expiring after SLOT_TTL_SECONDS if its holder died. Tries `tries` slots from slot `from`; returns the
	 * slot number, or null when those are all taken.
	 */
	private async takeSlot(
		counters: Counters,
		key: string,
		from: number,
		tries: number,
	): Promise<number | null> {
		const n = this.limits.maxConcurrent!;
		for (let i = 0; i < tries; i++) {
			const slot = (from + i) % n;
			if (
				(await this.count(
					counters.slots!,
					`${key}:${slot}`,
					1,
					Date.now() + SLOT_TTL_SECONDS * 1000,
				)) !== null
			)
				return slot;
		}
		return null;
	}
}
