const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g;

/** `text` with every occurrence of each secret, and any bearer token, replaced by `[redacted]`. */
export function redactText(text: string, secrets: readonly string[]): string {
	let out = text;
	for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
	return out.replace(BEARER, '$1[redacted]');
}

/** Errors reachable from `error`: its cause chain and, for RetryExhaustedError, every attempt's error (5 levels deep at most). */
function reachableErrors(error: Error, depth = 0, seen = new Set<Error>()): Error[] {
	if (depth > 5 || seen.has(error)) return [];
	seen.add(error);
	const next: unknown[] = [error.cause];
	const attempts = (error as { attempts?: unknown }).attempts;
	if (Array.isArray(attempts)) next.push(...attempts.map((a: { error?: unknown }) => a?.error));
	return [
		error,
		...next
			.filter((e): e is Error => e instanceof Error)
			.flatMap((e) => reachableErrors(e, depth + 1, seen)),
	];
}

/**
 * Sets `error[key]` to `text` when it differs; false when the property cannot be set (a DOMException's `message` is a
 * getter, as on the AbortError of a cancelled request).
 */
function rewrite(error: Error, key: 'message' | 'stack', text: string): boolean {
	if (error[key] === text) return true;
	try {
		error[key] = text;
		return error[key] === text;
	} catch {
		return false;
	}
}

/**
 * Removes secrets from the message and stack of an error, of its causes and of a RetryExhaustedError's attempts,
 * and from an API error body's `message` (in place, so class, status and headers stay usable for retry
 * classification). Returns the same error — or, when its own message or stack holds a secret and cannot be rewritten
 * (a DOMException), a new Error with the redacted text and the same name and code (the original, which still
 * holds the secret, is not kept).
 * Non-Error values become Errors.
 */
export function redactError(error: unknown, secrets: readonly string[]): Error {
	const root = error instanceof Error ? error : new Error(redactText(String(error), secrets));
	let rootRewritten = true;
	for (const e of reachableErrors(root)) {
		const rewritten =
			rewrite(e, 'message', redactText(e.message, secrets)) &&
			(!e.stack || rewrite(e, 'stack', redactText(e.stack, secrets)));
		if (e === root) rootRewritten = rewritten;
		const body = (e as { error?: { message?: unknown } }).error;
		if (body && typeof body === 'object' && typeof body.message === 'string')
			body.message = redactText(body.message, secrets);
	}
	if (rootRewritten) return root;
	const wrapper = new Error(redactText(root.message, secrets));
	wrapper.name = root.name;
	const { code } = root as { code?: unknown };
	if (code !== undefined) Object.assign(wrapper, { code });
	return wrapper;
}
