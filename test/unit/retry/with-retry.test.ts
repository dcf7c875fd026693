import {
	AttemptTimeoutError,
	ExponentialBackoffRetryPolicy,
	FixedDelayRetryPolicy,
	isRetryableError,
	NoRetryPolicy,
	retryAfterMs,
	RetryExhaustedError,
	withRetry,
} from '../../../lib/retry';

const httpError = (status: number, headers: Record<string, string> = {}) =>
	Object.assign(new Error(`HTTP ${status}`), { status, headers });
const netError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
const fixed = (maxRetries: number, delay = 1) => new FixedDelayRetryPolicy({ maxRetries, delay });

/** A function failing with the given errors in turn, then returning 'ok'. */
function flaky(...errors: unknown[]) {
	const calls: number[] = [];
	const fn = jest.fn(async () => {
		calls.push(Date.now());
		const error = errors.shift();
		if (error) throw error;
		return 'ok';
	});
	return { fn, calls };
}

describe('classification', () => {
	it.each([408, 409, 425, 429, 500, 502, 503, 504])('HTTP %i is retryable', (status) =>
		expect(isRetryableError(httpError(status))).toBe(true),
	);
	it.each([400, 401, 403, 404, 422])('HTTP %i is not', (status) =>
		expect(isRetryableError(httpError(status))).toBe(false),
	);
	it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN'])(
		'%s is retryable, also as a cause',
		(code) => {
			expect(isRetryableError(netError(code))).toBe(true);
			expect(isRetryableError(new TypeError('fetch failed', { cause: netError(code) }))).toBe(true);
		},
	);
	it('socket hang up and attempt timeouts are retryable; validation errors and aborts are not', () => {
		expect(isRetryableError(new Error('socket hang up'))).toBe(true);
		expect(isRetryableError(new AttemptTimeoutError(5))).toBe(true);
		expect(isRetryableError(new Error('Invalid input: expected string'))).toBe(false);
		expect(isRetryableError(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(
			false,
		);
	});
	it("reads chromadb's status-less error classes: connection, server and rate-limit errors are retryable, others are not", () => {
		const chroma = (name: string) => Object.assign(new Error('x'), { name });
		for (const name of ['ChromaConnectionError', 'ChromaServerError', 'ChromaRateLimitError'])
			expect(isRetryableError(chroma(name))).toBe(true);
		for (const name of ['ChromaValueError', 'ChromaNotFoundError', 'ChromaUnauthorizedError'])
			expect(isRetryableError(chroma(name))).toBe(false);
	});
	it('reads n8n-style string httpCode', () =>
		expect(isRetryableError(Object.assign(new Error('x'), { httpCode: '503' }))).toBe(true));

	it('parses Retry-After as seconds, HTTP-date and retry-after-ms, from plain objects and Headers', () => {
		const now = Date.parse('2026-01-01T00:00:00Z');
		expect(retryAfterMs(httpError(429, { 'Retry-After': '2' }), now)).toBe(2000);
		expect(
			retryAfterMs(httpError(429, { 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now),
		).toBe(3000);
		expect(retryAfterMs(httpError(429, { 'retry-after-ms': '150' }), now)).toBe(150);
		expect(
			retryAfterMs(
				Object.assign(new Error('x'), { headers: new Headers({ 'retry-after': '1.5' }) }),
				now,
			),
		).toBe(1500);
		expect(retryAfterMs(httpError(429, { 'retry-after': 'whenever' }), now)).toBeUndefined();
		expect(retryAfterMs(httpError(429), now)).toBeUndefined();
	});
});

describe('withRetry', () => {
	it('retries retryable failures and returns the first success', async () => {
		const { fn } = flaky(httpError(503), netError('ECONNRESET'));
		const retries: number[] = [];
		await expect(
			withRetry(fn, fixed(3), { onRetry: ({ attempt }) => retries.push(attempt) }),
		).resolves.toBe('ok');
		expect(fn).toHaveBeenCalledTimes(3);
		expect(retries).toEqual([1, 2]);
	});

	it('rethrows a non-retryable error at once, as is', async () => {
		const error = httpError(400);
		const { fn } = flaky(error);
		await expect(withRetry(fn, fixed(5))).rejects.toBe(error);
		expect(fn).toHaveBeenCalledTimes(1);
	});

	it('uses a custom isRetryable', async () => {
		const { fn } = flaky(new Error('custom transient'));
		await expect(
			withRetry(fn, fixed(1), { isRetryable: (e) => /transient/.test(String(e)) }),
		).resolves.toBe('ok');
	});

	it("gives up after maxRetries with every attempt's error and delay", async () => {
		const errors = [httpError(500), httpError(502), httpError(503)];
		const { fn } = flaky(...errors, httpError(504));
		const policy = new ExponentialBackoffRetryPolicy({
			maxRetries: 2,
			initialDelay: 10,
			maxDelay: 100,
			multiplier: 3,
		});
		const failure = await withRetry(fn, policy).catch((e: unknown) => e);
		expect(failure).toBeInstanceOf(RetryExhaustedError);
		const exhausted = failure as RetryExhaustedError;
		expect(exhausted.attempts).toEqual([
			{ attempt: 1, error: errors[0], delayMs: 10 },
			{ attempt: 2, error: errors[1], delayMs: 30 },
			{ attempt: 3, error: errors[2] },
		]);
		expect(exhausted.lastError).toBe(errors[2]);
		expect(exhausted.message).toBe('Gave up after 3 attempts: HTTP 503');
		expect(fn).toHaveBeenCalledTimes(3);
	});

	it('NoRetryPolicy tries once', async () => {
		const { fn } = flaky(httpError(503));
		await expect(withRetry(fn, new NoRetryPolicy())).rejects.toBeInstanceOf(RetryExhaustedError);
		expect(fn).toHaveBeenCalledTimes(1);
	});

	it("waits at least the server's Retry-After, capped by maxRetryAfterMs", async () => {
		const { fn, calls } = flaky(
			httpError(429, { 'retry-after': '0.3' }),
			httpError(429, { 'retry-after': '3600' }),
		);
		const delays: number[] = [];
		await withRetry(fn, fixed(2, 5), {
			maxRetryAfterMs: 400,
			onRetry: ({ delayMs }) => delays.push(delayMs),
		});
		expect(delays).toEqual([300, 400]);
		expect(calls[1] - calls[0]).toBeGreaterThanOrEqual(295);
	});

	it('keeps the policy delay when it is longer than Retry-After', async () => {
		const { fn } = flaky(httpError(429, { 'retry-after': '0' }));
		const delays: number[] = [];
		await withRetry(fn, fixed(1, 40), { onRetry: ({ delayMs }) => delays.push(delayMs) });
		expect(delays).toEqual([40]);
	});

	it('stops at once when aborted during a wait', async () => {
		const { fn } = flaky(httpError(503), httpError(503));
		const controller = new AbortController();
		const reason = new Error('cancelled by the user');
		setTimeout(() => controller.abort(reason), 50);
		const started = Date.now();
		await expect(withRetry(fn, fixed(3, 10_000), { signal: controller.signal })).rejects.toBe(
			reason,
		);
		expect(Date.now() - started).toBeLessThan(2000);
		expect(fn).toHaveBeenCalledTimes(1);
	});

	it('does not start when already aborted', async () => {
		const { fn } = flaky();
		const controller = new AbortController();
		controller.abort(new Error('too late'));
		await expect(withRetry(fn, fixed(3), { signal: controller.signal })).rejects.toThrow(
			'too late',
		);
		expect(fn).not.toHaveBeenCalled();
	});

	it('aborts an attempt that runs past timeoutMs, passing the abort to the call, and retries it', async () => {
		const seen: AbortSignal[] = [];
		const fn = jest.fn(({ signal, attempt }: { signal: AbortSignal; attempt: number }) => {
			seen.push(signal);
			return attempt < 3 ? new Promise<string>(() => {}) : Promise.resolve('third time');
		});
		await expect(withRetry(fn, fixed(3), { timeoutMs: 30 })).resolves.toBe('third time');
		expect(seen[0].aborted).toBe(true);
		expect(seen[0].reason).toBeInstanceOf(AttemptTimeoutError);
	});

	it('reports timeouts in the exhaustion error', async () => {
		const failure = (await withRetry(() => new Promise(() => {}), fixed(1), {
			timeoutMs: 20,
		}).catch((e: unknown) => e)) as RetryExhaustedError;
		expect(failure.attempts.map((a) => (a.error as Error).name)).toEqual([
			'AttemptTimeoutError',
			'AttemptTimeoutError',
		]);
	});
});

it('rejects at once on abort even when the call ignores its signal', async () => {
	const controller = new AbortController();
	setTimeout(() => controller.abort(new Error('stop')), 30);
	const started = Date.now();
	await expect(
		withRetry(() => new Promise(() => {}), fixed(0), { signal: controller.signal }),
	).rejects.toThrow('stop');
	expect(Date.now() - started).toBeLessThan(1000);
});
