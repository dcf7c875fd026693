/** Waves: the topological levels of a valid plan. Tasks in one wave depend only on earlier waves and can run in parallel. */
import type { Plan } from './schema';

/**
 * wave(task) = 0 without dependencies, else 1 + the largest wave of its dependencies (longest-path layering).
 * Returns the task ids per wave, each wave in plan order. The plan must be valid (see validatePlan).
 */
export function planWaves(plan: Plan): string[][] {
	const byId = new Map(plan.tasks.map((t) => [t.id, t]));
	const level = new Map<string, number>();
	const levelOf = (id: string): number => {
		const known = level.get(id);
		if (known !== undefined) return known;
		const deps = byId.get(id)!.dependsOn;
		const value = deps.length ? 1 + Math.max(...deps.map(levelOf)) : 0;
		level.set(id, value);
		return value;
	};
	const waves: string[][] = [];
	for (const task of plan.tasks) (waves[levelOf(task.id)] ??= []).push(task.id);
	return waves;
}
