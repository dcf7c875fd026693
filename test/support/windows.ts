/** Rate-limit windows are aligned to the clock: tests that count within one window first make sure it has room. */

/**
 * Resolves once at least `neededMs` are left in the current clock-aligned window of `windowMs` (sleeping into the next
 * window, 10 ms past its start, when fewer are left, and looking again: a timer that fires late may leave less).
 * Resolves with when that window ends, ms since the epoch (Date.now's clock, which the limiter and the model server's
 * request log use too): nothing the limiter holds back can be granted before it.
 */
export async function roomInWindow(windowMs: number, neededMs: number): Promise<number> {
	for (;;) {
		const now = Date.now();
		const left = windowMs - (now % windowMs);
		if (left >= neededMs) return now + left;
		await new Promise((resolve) => setTimeout(resolve, left + 10));
	}
}

/** Most of `times` (ms) falling in any span of `ms` (a sliding window over the sorted times). */
export function busiestSpan(times: readonly number[], ms: number): number {
	const sorted = [...times].sort((a, b) => a - b);
	let best = 0;
	for (let i = 0, from = 0; i < sorted.length; i++) {
		while (sorted[from] <= sorted[i] - ms) from++;
		best = Math.max(best, i - from + 1);
	}
	return best;
}
