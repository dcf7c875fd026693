/** Rate-limit windows are aligned to the clock: tests that count within one window first make sure it has room. */

/**
 * Resolves once at least `neededMs` are left in the current clock-aligned window of `windowMs` (sleeping into the next
 * window, 10 ms past its start, when fewer are left).
 */
export async function roomInWindow(windowMs: number, neededMs: number): Promise<void> {
	const left = windowMs - (Date.now() % windowMs);
	if (left >= neededMs) return;
	await new Promise((resolve) => setTimeout(resolve, left + 10));
}
