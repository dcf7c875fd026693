/** lib/llm's Task runner: order, context, parallel overlap, strict and non-strict failure, timeouts and retries. */
import { checkSteps, runTask, TaskError, type TaskStep } from '../../../lib/llm';
import { sleep } from '../../../lib/retry';

const step = (name: string, extra: Partial<TaskStep> = {}): TaskStep => ({
	name,
	instruction: `do ${name}`,
	timeoutMs: 5_000,
	retries: 0,
	...extra,
});
const overlaps = (
	a: { startedAt?: string; finishedAt?: string },
	b: { startedAt?: string; finishedAt?: string },
) =>
	Date.parse(a.startedAt!) < Date.parse(b.finishedAt!) &&
	Date.parse(b.startedAt!) < Date.parse(a.finishedAt!);

describe('runTask', () => {
	it('runs steps in order; each sees the results of the steps before it', async () => {
		const seen: string[][] = [];
		const result = await runTask(
			[step('a'), step('b'), step('c')],
			async ({ step, previous }) => {
				seen.push(previous.map((p) => `${p.name}=${p.value}`));
				await sleep(20);
				return step.name.toUpperCase();
			},
			{ strict: true, parallel: false },
		);
		expect(result.status).toBe('completed');
		expect(result.steps.map((s) => [s.name, s.status, s.value, s.attempts])).toEqual([
			['a', 'completed', 'A', 1],
			['b', 'completed', 'B', 1],
			['c', 'completed', 'C', 1],
		]);
		expect(seen).toEqual([[], ['a=A'], ['a=A', 'b=B']]);
		expect(overlaps(result.steps[0], result.steps[1])).toBe(false);
		expect(overlaps(result.steps[1], result.steps[2])).toBe(false);
	});

	it('runs parallel steps at the same time (their intervals overlap) and gives them no earlier results', async () => {
		const seen: number[] = [];
		const result = await runTask(
			[step('a'), step('b'), step('c')],
			async ({ previous }) => {
				seen.push(previous.length);
				await sleep(150);
				return 'ok';
			},
			{ strict: true, parallel: true, concurrency: 3 },
		);
		expect(result.status).toBe('completed');
		expect(seen).toEqual([0, 0, 0]);
		const [a, b, c] = result.steps;
		expect([overlaps(a, b), overlaps(b, c), overlaps(a, c)]).toEqual([true, true, true]);
	});

	it('keeps to the concurrency limit', async () => {
		let inFlight = 0;
		let most = 0;
		await runTask(
			['a', 'b', 'c', 'd', 'e'].map((n) => step(n)),
			async () => {
				most = Math.max(most, ++inFlight);
				await sleep(30);
				inFlight--;
				return 1;
			},
			{ strict: false, parallel: true, concurrency: 2 },
		);
		expect(most).toBe(2);
	});

	it('strict, in order: stops at the first failed step and skips the rest', async () => {
		const ran: string[] = [];
		const result = await runTask(
			[step('a'), step('b'), step('c')],
			async ({ step }) => {
				ran.push(step.name);
				if (step.name === 'b') throw new Error('b broke');
				return step.name;
			},
			{ strict: true, parallel: false },
		);
		expect(result.status).toBe('failed');
		expect(ran).toEqual(['a', 'b']);
		expect(result.steps.map((s) => [s.status, s.error ?? null, s.attempts])).toEqual([
			['completed', null, 1],
			['failed', 'b broke', 1],
			['skipped', null, 0],
		]);
	});

	it('not strict: runs every step and reports the failed one (status partial)', async () => {
		const result = await runTask(
			[step('a'), step('b'), step('c')],
			async ({ step }) => {
				if (step.name === 'b') throw new Error('b broke');
				return step.name;
			},
			{ strict: false, parallel: false },
		);
		expect(result.status).toBe('partial');
		expect(result.steps.map((s) => s.status)).toEqual(['completed', 'failed', 'completed']);
	});

	it('strict, in parallel: a failure cancels the running steps (their signal aborts)', async () => {
		let cancelled = 0;
		const result = await runTask(
			[step('slow1'), step('fails'), step('slow2')],
			async ({ step, signal }) => {
				if (step.name === 'fails') {
					await sleep(30);
					throw new Error('boom');
				}
				await sleep(5_000, signal).catch((e) => {
					cancelled++;
					throw e;
				});
				return 'done';
			},
			{ strict: true, parallel: true, concurrency: 3 },
		);
		expect(result.status).toBe('failed');
		expect(cancelled).toBe(2);
		expect(result.steps.map((s) => s.status)).toEqual(['skipped', 'failed', 'skipped']);
		expect(result.steps[0].error).toMatch(/another step failed/);
		expect(result.durationMs).toBeLessThan(4_000);
	});

	it('times a step out per attempt and retries it up to its retry count', async () => {
		let attempts = 0;
		const result = await runTask(
			[step('flaky', { timeoutMs: 100, retries: 2 })],
			async ({ signal }) => {
				if (++attempts < 3) await sleep(1_000, signal);
				return 'third time';
			},
			{ strict: true, parallel: false },
		);
		expect(result.steps[0]).toMatchObject({
			status: 'completed',
			value: 'third time',
			attempts: 3,
		});
	});

	it('reports a step that keeps timing out with its timeout', async () => {
		const result = await runTask(
			[step('stuck', { timeoutMs: 50, retries: 1 })],
			({ signal }) => sleep(1_000, signal).then(() => 'never'),
			{ strict: false, parallel: false },
		);
		expect(result.steps[0]).toMatchObject({
			status: 'failed',
			attempts: 2,
			error: 'Step "stuck" timed out after 0.05 s',
		});
	});

	it('does not retry failures the caller marks as final', async () => {
		let attempts = 0;
		const result = await runTask(
			[step('budget', { retries: 3 })],
			async () => {
				attempts++;
				throw Object.assign(new Error('budget used up'), { final: true });
			},
			{ strict: false, parallel: false, isRetryable: (e) => !(e as { final?: boolean }).final },
		);
		expect(attempts).toBe(1);
		expect(result.steps[0].error).toBe('budget used up');
	});

	it('stops when the caller cancels', async () => {
		const controller = new AbortController();
		setTimeout(() => controller.abort(new Error('execution cancelled')), 50);
		await expect(
			runTask([step('a')], ({ signal }) => sleep(5_000, signal).then(() => 1), {
				strict: false,
				parallel: false,
				signal: controller.signal,
			}),
		).rejects.toThrow('execution cancelled');
	});
});

describe('checkSteps', () => {
	it.each([
		[[], /1 to 20 steps, got 0/],
		[Array.from({ length: 21 }, (_, i) => step(`s${i}`)), /got 21/],
		[[step('a'), step('a')], /Step 2 \("a"\): the name "a" is used by an earlier step/],
		[[step(' ')], /Step 1 .*has no name/],
		[[step('a', { instruction: '' })], /Step 1 \("a"\) has no instruction/],
		[[step('a', { timeoutMs: 0 })], /timeout must be more than 0/],
		[[step('a', { retries: 1.5 })], /retries must be a whole number/],
	])('refuses invalid steps (%#)', (steps, message) => {
		expect(() => checkSteps(steps as TaskStep[])).toThrow(TaskError);
		expect(() => checkSteps(steps as TaskStep[])).toThrow(message);
	});
});
