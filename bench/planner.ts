/**
 * Planner parallelism: a goal planned into 8 independent tasks, each one model call with 500 ms latency (offline
 * model), executed with concurrency 8 and, for comparison, with concurrency 1 (the tasks as sequential branches).
 * Reports planning time, wall time of both runs, the sum of task durations and the speed-up.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';

import { createChatModel, runAgent, UsageTracker } from '../lib/llm';
import { createPlan, executePlan } from '../lib/planning';
import { NoRetryPolicy } from '../lib/retry';
import { OfflineModelServer, systemText, type ChatRequest } from '../test/support/model-server';

const TASKS = 8;

export async function planner(latencyMs = Number(process.env.BENCH_PLANNER_LATENCY_MS ?? 500)) {
	const server = new OfflineModelServer({ latencyMs });
	await server.start();
	server.setHandler((request: ChatRequest) => {
		if (/You are a planner/.test(systemText(request.messages))) {
			const tasks = Array.from({ length: TASKS }, (_, i) => ({ id: `t${i + 1}`, title: `Independent task ${i + 1}`, description: '', agent: 'worker', dependsOn: [] }));
			return { content: JSON.stringify({ goal: 'bench goal', tasks }) };
		}
		return { content: 'done' };
	});
	try {
		const model = createChatModel({ baseUrl: server.baseUrl, apiKey: 'bench', chatModel: 'offline-chat', embeddingModel: 'offline-embedding' });
		const options = { policy: new NoRetryPolicy(), usage: new UsageTracker() };
		let t = performance.now();
		const planned = await createPlan(model, 'bench goal', { ...options, maxTasks: TASKS });
		const planningMs = performance.now() - t;
		if (planned.kind !== 'plan') throw new Error('the bench plan was not made');
		const run = ({ task, signal }: { task: { title: string }; signal: AbortSignal }) =>
			runAgent(model, [new SystemMessage('You are a worker.'), new HumanMessage(task.title)], [], { ...options, signal }).then((r) => r.output);
		const timed = async (concurrency: number) => {
			const start = performance.now();
			const result = await executePlan(planned.plan, run, { concurrency });
			if (result.status !== 'completed') throw new Error('a bench task failed');
			return { wallMs: Math.round(performance.now() - start), sumOfTaskMs: result.tasks.reduce((n, task) => n + task.durationMs, 0) };
		};
		const parallel = await timed(TASKS);
		const sequential = await timed(1);
		t = Math.round(planningMs);
		return {
			setup: `${TASKS} independent tasks, one model call each, ${latencyMs} ms model latency; planning is one model call`,
			planningMs: t,
			parallel: { concurrency: TASKS, ...parallel, withPlanningMs: parallel.wallMs + t },
			sequential: { concurrency: 1, ...sequential },
			speedUp: Math.round((sequential.wallMs / parallel.wallMs) * 100) / 100,
			parallelOverOneTask: Math.round((parallel.wallMs / latencyMs) * 100) / 100,
		};
	} finally {
		await server.stop();
	}
}
