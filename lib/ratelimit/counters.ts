/**
 * The store operations a provider limiter is built from: counting points on a clock-aligned window key, concurrency
 * slots and the shared cool-down, over rate-limiter-flexible counters (one per kind and store).
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** The counters of one store: per-window requests and tokens, concurrency slots, and the cool-down. */
export interface Counters {
	requests?: RateLimiterAbstract;
	tokens?: RateLimiterAbstract;
	slots?: RateLimiterAbstract;
	coolDown: RateLimiterAbstract;
}

/** A slot held by a worker that died is freed after this long, s (longer than any request we allow). */
export const SLOT_TTL_SECONDS = 600;

/**
 * Store options that keep a window's key until the window has ended (plus a second): windows are reserved ahead, so
 * a key may be written long before its window comes. Whole seconds, as the stores count.
 */
export function keep(endsAt: number) {
	return { customDuration: Math.max(1, Math.ceil((endsAt - Date.now()) / 1000) + 1) };
}

/** rate-limiter-flexible rejects a consume over the limit with a RateLimiterRes, and a store failure with an Error. */
function isRejection(value: unknown): value is RateLimiterRes {
	return value instanceof RateLimiterRes;
}

/**
 * Counts `points` on a window key (kept until its window ends at `endsAt`, ms since the epoch): the count after it,
 * or null when the window was already full. A store error is thrown.
 */
export async function count(
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

/**
 * A concurrency slot of `maxConcurrent`: slot i is key "<key>:i" holding 1 point while taken (a second consume is
 * rejected), deleted on release, expiring after SLOT_TTL_SECONDS if its holder died. Tries `tries` slots from slot
 * `from`; returns the slot number, or null when those are all taken.
 */
export async function takeSlot(
	counters: Counters,
	maxConcurrent: number,
	key: string,
	from: number,
	tries: number,
): Promise<number | null> {
	for (let i = 0; i < tries; i++) {
		const slot = (from + i) % maxConcurrent;
		if (
			(await count(counters.slots!, `${key}:${slot}`, 1, Date.now() + SLOT_TTL_SECONDS * 1000)) !==
			null
		)
			return slot;
	}
	return null;
}

/** How long the key's cool-down still holds, ms (0 when none); a store error is thrown. */
export async function coolingMs(counters: Counters, key: string): Promise<number> {
	const blocked = await counters.coolDown.get(key).catch((error: unknown) => {
		if (isRejection(error)) return null;
		throw error;
	});
	return blocked && blocked.consumedPoints > 1 ? blocked.msBeforeNext : 0;
}

/**
 * A wait plus up to 10 ms (`random` gives [0, 1)), so waiters for the same moment do not all reach the store in the
 * same instant.
 */
export function jitter(ms: number, random: () => number): number {
	return ms + 10 * random();
}
