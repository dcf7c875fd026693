/** A source of uniform random numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * Seeded pseudo-random source (mulberry32, a 32-bit generator by Tommy Ettinger), for deterministic jitter in tests.
 * seed: any integer; the same seed gives the same sequence.
 */
export function seededRandom(seed: number): RandomSource {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
