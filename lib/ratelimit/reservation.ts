/**
 * One try at a provider limiter's reservation: a concurrency slot, a place in the first request window with room and
 * the request's tokens in the token window it will be sent in. Whatever the try took is given back when it cannot
 * complete, so a refused try takes nothing from anyone.
 */
import type { Lease } from './limiter';
import { coolingMs, count, jitter, keep, takeSlot, type Counters } from './counters';
import type { Window } from './limits';

/** How often a waiter for a concurrency slot looks again, ms (jittered ± half). */
const SLOT_POLL_MS = 50;

/** A reservation (send at `sendAt`, ms since the epoch; `giveBack` returns its counts), or a wait before trying again. */
export type Attempt =
	| { lease: Lease; sendAt: number; giveBack: () => void; counters: Counters }
	| { retryInMs: number };

/** The limiter's windows and concurrency limit, and its random source for jitter. */
interface ReservationLimits {
	requestWindow?: Window;
	tokenWindow?: Window;
	maxConcurrent?: number;
	/** Random numbers in [0, 1). */
	random: () => number;
}

/** The tokens charged to a token window: its key (none without a token limit) and when it ends (ms since the epoch). */
interface TokenCharge {
	key?: string;
	charged: number;
	endsAt: number;
}

/**
 * One reservation try for `key` in one store's counters. The cool-down check and the first window's count go to the
 * store together; when that window is full, the next ones are tried in turn (a refused count only ever lands in a
 * full window) up to the deadline.
 */
export class Reservation {
	private readonly now = Date.now();
	/** The request window counted in: its number (window n covers [n × ms, (n + 1) × ms)). */
	private index: number;
	/** The concurrency slot held: null when none was free, undefined without a concurrency limit. */
	private slot: number | null | undefined;

	constructor(
		private readonly counters: Counters,
		private readonly key: string,
		private readonly limits: ReservationLimits,
	) {
		this.index = limits.requestWindow ? Math.floor(this.now / limits.requestWindow.ms) : 0;
	}

	/**
	 * The reservation for a request of `tokens` tokens (a lease carrying `warning`), or how long to wait before the next
	 * try when no slot is free, the key is cooling down, or no window before `deadline` (ms since the epoch) has room.
	 * A store error is thrown, after giving back what the try had taken.
	 */
	async attempt(tokens: number, deadline: number, warning: string | undefined): Promise<Attempt> {
		const { first, cooling } = await this.takeSlotAndCount();
		if (this.slot === null || cooling > 0) {
			this.freeSlot();
			if (first) this.giveBackRequest();
			return {
				retryInMs:
					cooling > 0 ? this.jitter(cooling) : SLOT_POLL_MS / 2 + this.jitter(SLOT_POLL_MS / 2),
			};
		}
		try {
			const position = await this.firstWindowWithRoom(first, deadline);
			if (position === null) {
				this.freeSlot();
				return { retryInMs: this.index * this.limits.requestWindow!.ms - this.now };
			}
			const sendAt = this.sendTime(position);
			const charge = await this.chargeTokens(sendAt, tokens);
			if ('retryInMs' in charge) return charge;
			return this.reserved(sendAt, charge, warning);
		} catch (error) {
			this.freeSlot();
			throw error;
		}
	}

	/**
	 * The common case in one round trip: a free concurrency slot (tried from a random one, so waiters spread), the
	 * cool-down check and the current window's count; then the other slots when the first was taken. Returns the
	 * window's count (null when full, undefined without a request limit) and the cool-down left, ms.
	 */
	private async takeSlotAndCount(): Promise<{ first: number | null | undefined; cooling: number }> {
		const { counters, key } = this;
		const window = this.limits.requestWindow;
		const slots = (counters.slots && this.limits.maxConcurrent) || 0;
		const firstSlot = Math.floor(this.limits.random() * slots);
		const [slotTaken, cooling, counted] = await Promise.allSettled([
			slots ? takeSlot(counters, this.limits.maxConcurrent!, key, firstSlot, 1) : undefined,
			coolingMs(counters, key),
			window ? count(counters.requests!, this.requestKey(), 1, this.requestWindowEnd()) : undefined,
		]);
		this.slot = slotTaken.status === 'fulfilled' ? slotTaken.value : null;
		const failed = [slotTaken, cooling, counted].find((r) => r.status === 'rejected');
		if (failed) {
			this.freeSlot();
			if (counted.status === 'fulfilled' && counted.value) this.giveBackRequest();
			throw (failed as PromiseRejectedResult).reason;
		}
		const first = (counted as PromiseFulfilledResult<number | null | undefined>).value;
		if (slots && this.slot === null)
			this.slot = await takeSlot(
				counters,
				this.limits.maxConcurrent!,
				key,
				firstSlot + 1,
				slots - 1,
			);
		return { first, cooling: (cooling as PromiseFulfilledResult<number>).value };
	}

	/**
	 * The request's place in the first window with room from the current one (`first` is the count there), or null
	 * when the windows up to `deadline` are full; undefined without a request limit.
	 */
	private async firstWindowWithRoom(
		first: number | null | undefined,
		deadline: number,
	): Promise<number | null | undefined> {
		const window = this.limits.requestWindow;
		let position = first;
		while (window && position === null) {
			this.index++;
			if (this.index * window.ms > deadline) return null;
			position = await count(
				this.counters.requests!,
				this.requestKey(),
				1,
				this.requestWindowEnd(),
			);
		}
		return position;
	}

	/** When to send, ms since the epoch: the request's evenly spaced place in its window (now without a request limit). */
	private sendTime(position: number | undefined): number {
		const window = this.limits.requestWindow;
		return window
			? Math.max(this.now, this.index * window.ms + ((position! - 1) * window.ms) / window.points)
			: this.now;
	}

	/**
	 * Counts the request's tokens (at most a whole window's) in the token window it will be sent in. When that window
	 * is full, gives back everything this try took and returns when that window ends.
	 */
	private async chargeTokens(
		sendAt: number,
		tokens: number,
	): Promise<TokenCharge | { retryInMs: number }> {
		const tokenWindow = this.limits.tokenWindow;
		const charged = Math.min(Math.max(0, Math.round(tokens)), tokenWindow?.points ?? 0);
		const tokenIndex = tokenWindow && Math.floor(sendAt / tokenWindow.ms);
		const key = tokenIndex !== undefined ? `${this.key}:${tokenIndex}` : undefined;
		const endsAt = tokenIndex !== undefined ? (tokenIndex + 1) * tokenWindow!.ms : 0;
		const charge = { key, charged, endsAt };
		if (key && charged > 0 && (await count(this.counters.tokens!, key, charged, endsAt)) === null) {
			// Refused: the tokens were still added; give them back with the request's place.
			this.giveBackTokens(charge);
			this.giveBackRequest();
			this.freeSlot();
			return { retryInMs: this.jitter(endsAt - this.now) };
		}
		return charge;
	}

	/** The reservation: its lease (settle corrects the tokens charged, release frees the slot once). */
	private reserved(sendAt: number, charge: TokenCharge, warning: string | undefined): Attempt {
		const tokens = this.counters.tokens;
		let released = false;
		return {
			counters: this.counters,
			sendAt,
			giveBack: () => {
				this.giveBackRequest();
				this.giveBackTokens(charge);
			},
			lease: {
				waitMs: 0,
				...(warning ? { warning } : {}),
				settle: async (actual) => {
					const difference = Math.round(actual) - charge.charged;
					if (!charge.key || difference === 0) return;
					// After the window rolled over, the correction would land in a window the request was not in.
					if (Date.now() >= charge.endsAt) return;
					await (
						difference > 0
							? tokens!.penalty(charge.key, difference, keep(charge.endsAt))
							: tokens!.reward(charge.key, -difference, keep(charge.endsAt))
					).catch(() => {});
				},
				release: () => {
					if (released) return;
					released = true;
					this.freeSlot();
				},
			},
		};
	}

	private requestKey(): string {
		return `${this.key}:${this.index}`;
	}

	/** When the request window counted in ends, ms since the epoch. */
	private requestWindowEnd(): number {
		return (this.index + 1) * this.limits.requestWindow!.ms;
	}

	// Give-backs are not awaited and their errors are dropped: a count not given back only expires with its key.
	private giveBackRequest(): void {
		if (this.limits.requestWindow)
			void this.counters
				.requests!.reward(this.requestKey(), 1, keep(this.requestWindowEnd()))
				.catch(() => {});
	}

	private giveBackTokens({ key, charged, endsAt }: TokenCharge): void {
		if (key && charged > 0)
			void this.counters.tokens!.reward(key, charged, keep(endsAt)).catch(() => {});
	}

	private freeSlot(): void {
		if (this.slot !== null && this.slot !== undefined)
			void this.counters.slots!.delete(`${this.key}:${this.slot}`).catch(() => {});
	}

	private jitter(ms: number): number {
		return jitter(ms, this.limits.random);
	}
}
