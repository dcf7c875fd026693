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
 * Removes secrets from the message and stack of an error, of its causes and of a RetryExhaustedError's attempts,
 * and from an API error body's `message` (in place, so class, status and headers stay usable for retry
 * classification). Returns the same error; non-Error values become Errors.
 */
export function redactError(error: unknown, secrets: readonly string[]): Error {
	const root = error instanceof Error ? error : new Error(redactText(String(error), secrets));
	for (const e of reachableErrors(root)) {
		e.message = redactText(e.message, secrets);
		if (e.stack) e.stack = redactText(e.stack, secrets);
		const body = (e as { error?: { message?: unknown } }).error;
		if (body && typeof body === 'object' && typeof body.message === 'string')
			body.message = redactText(body.message, secrets);
	}
	return root;
}
