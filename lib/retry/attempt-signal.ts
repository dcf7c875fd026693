/**
 * The current attempt's AbortSignal, for clients whose calls take no signal of their own (LangChain's embeddings,
 * the Chroma client). `withAttemptSignal(signal, fn)` runs `fn` with the signal in async context;
 * `signalAwareFetch(fetch)` is a fetch that aborts its request when that signal aborts (a timed-out or cancelled
 * attempt then stops instead of running on beside its retry). Built on Node's AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `fn` with `signal` as the current attempt's signal (for every fetch it starts through signalAwareFetch). */
export function withAttemptSignal<T>(
	signal: AbortSignal | undefined,
	fn: () => Promise<T>,
): Promise<T> {
	return signal ? current.run(signal, fn) : fn();
}

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * `fetch` that also aborts when the current attempt's signal does; `rewrite` may change the URL (e.g. to add a
 * path prefix). A Request input keeps its method, headers and body.
 */
export function signalAwareFetch(base: Fetch = fetch, rewrite?: (url: string) => string): Fetch {
	return async (input, init) => {
		const attempt = current.getStore();
		const request = input instanceof Request ? input : undefined;
		const signals = [init?.signal ?? request?.signal, attempt].filter((s): s is AbortSignal => !!s);
		const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
		const url = rewrite ? rewrite(request ? request.url : String(input)) : (request?.url ?? input);
		if (!request) return base(url, { ...init, signal });
		const body = ['GET', 'HEAD'].includes(request.method) ? undefined : await request.arrayBuffer();
		return base(url, { method: request.method, headers: request.headers, body, ...init, signal });
	};
}
