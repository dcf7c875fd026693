/**
 * The value of `key` in `cache`, made by `create` when missing, moved to the most recently used end of the map (a Map
 * keeps insertion order); past `max` entries the least recently used are dropped.
 */
export function recentlyUsed<T>(
	cache: Map<string, T>,
	key: string,
	create: () => T,
	max: number,
): T {
	const value = cache.get(key) ?? create();
	cache.delete(key);
	cache.set(key, value);
	while (cache.size > max) cache.delete(cache.keys().next().value!);
	return value;
}
