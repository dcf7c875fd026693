/**
 * A value kept in the Memory Store that one caller at a time recomputes while the others wait for its result (single
 * flight across every worker): within `maxAgeMs` of its last refresh it is served as stored; a refresh another
 * caller finishes while one waits is taken as it is; the lock is a key with a TTL, so a caller that dies mid-refresh
 * holds the others up for at most `lockWaitMs`.
 */
import { VersionConflictError, type MemoryStore, type Namespace } from '../memory';

interface SharedRefreshOptions<T> {
	/** Serve the stored value without recomputing when it is younger than this, ms. */
	maxAgeMs: number;
	/** How long a caller waits for another caller's refresh before refreshing itself, ms (default 60 000). */
	lockWaitMs?: number;
	/** Expiry of the stored value, ms (default 24 h). */
	ttlMs?: number;
	/** Whether a stored value answers this call at all (e.g. it covers the window asked for). */
	usable?: (value: T) => boolean;
	/** Stored form of the value (default: as it is) and back; decode returns undefined for an unknown form. */
	encode?: (value: T) => unknown;
	decode?: (stored: unknown) => T | undefined;
	signal?: AbortSignal;
}

interface Shared<T> {
	value: T;
	/** ISO time the value was computed. */
	refreshedAt: string;
	/** 'cache': served as stored; 'refreshed': computed by this call; 'shared': another caller's refresh, waited for. */
	source: 'cache' | 'refreshed' | 'shared';
	/** Whether this call stored its value: false unless refreshed, and when another refresh was stored first. */
	stored: boolean;
}

interface Stored {
	refreshedAt: string;
	value: unknown;
}

/**
 * The value under `key` in `ns`, recomputed with `compute(previous)` when missing, unusable or older than maxAgeMs.
 * Throws what compute or the store throws.
 */
export async function sharedRefresh<T>(
	store: MemoryStore,
	ns: Namespace,
	key: string,
	options: SharedRefreshOptions<T>,
	compute: (previous: T | undefined) => Promise<T>,
): Promise<Shared<T>> {
	const decode = options.decode ?? ((stored: unknown) => stored as T);
	const encode = options.encode ?? ((value: T) => value);
	const load = async () => {
		const stored = await store.get(ns, key);
		const entry = stored?.value as Stored | undefined;
		const value = entry && typeof entry.refreshedAt === 'string' ? decode(entry.value) : undefined;
		const usable = value !== undefined && (options.usable?.(value) ?? true);
		return {
			value: usable ? value : undefined,
			previous: value,
			refreshedAt: entry?.refreshedAt,
			version: stored?.version ?? 0,
		};
	};
	const young = (refreshedAt: string | undefined) =>
		!!refreshedAt && Date.now() - Date.parse(refreshedAt) < Math.max(options.maxAgeMs, 1);

	let current = await load();
	if (current.value !== undefined && young(current.refreshedAt))
		return {
			value: current.value,
			refreshedAt: current.refreshedAt!,
			source: 'cache',
			stored: false,
		};
	const seen = current.refreshedAt;

	const lockKey = `lock:${key}`;
	const deadline = Date.now() + (options.lockWaitMs ?? 60_000);
	let held: boolean;
	// Waiting polls the small lock key only; the value is read once the lock is free.
	while (!(held = await tryLock(store, ns, lockKey))) {
		if (Date.now() > deadline || options.signal?.aborted) break; // the holder died or is slow: refresh anyway
		await sleep(50);
	}
	try {
		current = await load();
		if (current.value !== undefined && (young(current.refreshedAt) || current.refreshedAt !== seen))
			return {
				value: current.value,
				refreshedAt: current.refreshedAt!,
				source: 'shared',
				stored: false,
			};
		const refreshedAt = new Date().toISOString();
		const value = await compute(current.previous);
		let stored = true;
		try {
			await store.set(ns, key, JSON.stringify({ refreshedAt, value: encode(value) }), {
				ttlMs: options.ttlMs ?? 24 * 3600_000,
				ifVersion: current.version,
			});
		} catch (error) {
			if (!(error instanceof VersionConflictError)) throw error;
			stored = false; // another refresh won; ours still answers this call
		}
		return { value, refreshedAt, source: 'refreshed', stored };
	} finally {
		if (held) await store.delete(ns, lockKey).catch(() => undefined);
	}
}

async function tryLock(store: MemoryStore, ns: Namespace, key: string): Promise<boolean> {
	try {
		await store.set(ns, key, '1', { ttlMs: 120_000, ifVersion: 0 });
		return true;
	} catch (error) {
		if (error instanceof VersionConflictError) return false;
		throw error;
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
