/**
 * What lib/llm adds per chat model call (retry wrapper, abort wiring, usage tracking, redaction) compared with
 * calling LangChain's ChatOpenAI directly, against the offline model server with no latency. The two variants
 * alternate call by call so that machine noise hits both alike.
 */
import { createChatModel, invokeChatModel, UsageTracker } from '../lib/llm';
import { ExponentialBackoffRetryPolicy } from '../lib/retry';
import { OfflineModelServer, offlineModelConfig } from '../stack/model-server';
import { summary } from './stats';

export async function llmCallOverhead(calls = Number(process.env.BENCH_LLM_CALLS ?? 300)) {
	const server = new OfflineModelServer();
	const baseUrl = await server.start();
	try {
		const model = createChatModel(offlineModelConfig(baseUrl));
		const policy = new ExponentialBackoffRetryPolicy({
			maxRetries: 3,
			initialDelay: 500,
			maxDelay: 30_000,
		});
		const usage = new UsageTracker();
		const raw: number[] = [];
		const ours: number[] = [];
		for (let i = 0; i < 20; i++) await model.invoke('warm up'); // JIT and keep-alive warm-up, not measured
		for (let i = 0; i < calls; i++) {
			let t = performance.now();
			await model.invoke(`question ${i}`);
			raw.push(performance.now() - t);
			t = performance.now();
			await invokeChatModel(model, `question ${i}`, {
				policy,
				usage,
				secrets: ['bench'],
				signal: new AbortController().signal,
			});
			ours.push(performance.now() - t);
		}
		const r = summary(raw);
		const o = summary(ours);
		return {
			unit: 'ms per call',
			calls,
			rawChatOpenAI: r,
			invokeChatModel: o,
			overheadP50Ms: Math.round((o.p50 - r.p50) * 1000) / 1000,
			ratioP50: Math.round((o.p50 / r.p50) * 1000) / 1000,
		};
	} finally {
		await server.stop();
	}
}
