/** Plan tasks for Planner tests: task `id` titled "Do <id>", for role "worker", depending on `dependsOn`. */
import type { PlanTask } from '../../lib/planning';

export const planTask = (
	id: string,
	dependsOn: string[] = [],
	extra: Partial<PlanTask> = {},
): PlanTask => ({
	id,
	title: `Do ${id}`,
	description: '',
	agent: 'worker',
	dependsOn,
	...extra,
});
