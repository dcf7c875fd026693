/**
 * Plan validation: unique ids, known dependencies, no self-dependency, no cycles (each reported with its path,
 * e.g. a → c → b → a), every task reachable from a root (a task without dependencies). All problems are returned,
 * not just the first.
 */
import type { Plan, PlanTask } from './schema';

/** INVALID_PLAN: the planning model's reply broke the plan format (the message names the field). */
type PlanProblemCode =
	| 'DUPLICATE_ID'
	| 'MISSING_DEPENDENCY'
	| 'SELF_DEPENDENCY'
	| 'CYCLE'
	| 'NO_ROOT'
	| 'UNREACHABLE'
	| 'INVALID_PLAN';

export interface PlanProblem {
	code: PlanProblemCode;
	message: string;
	/** The tasks concerned (for a cycle: its path, first task repeated at the end). */
	taskIds: string[];
}

export class PlanValidationError extends Error {
	override name = 'PlanValidationError';

	constructor(readonly problems: PlanProblem[]) {
		super(`The plan is invalid: ${problems.map((p) => p.message).join('; ')}`);
	}
}

/** Cycles by depth-first search over the dependency edges (task → dependency); each cycle is reported once. */
function findCycles(tasks: ReadonlyMap<string, PlanTask>): string[][] {
	const state = new Map<string, 'open' | 'done'>();
	const stack: string[] = [];
	const cycles: string[][] = [];
	const seen = new Set<string>();
	const visit = (id: string) => {
		state.set(id, 'open');
		stack.push(id);
		for (const dep of tasks.get(id)!.dependsOn) {
			if (!tasks.has(dep) || dep === id) continue; // reported as missing / self-dependency
			if (state.get(dep) === 'open') {
				// The path from dep to id on the stack, closed by the edge id → dep; shown in dependency order.
				const cycle = [...stack.slice(stack.indexOf(dep)), dep];
				const key = [...cycle.slice(0, -1)].sort().join('\u0000');
				if (!seen.has(key)) {
					seen.add(key);
					cycles.push(cycle);
				}
			} else if (!state.has(dep)) {
				visit(dep);
			}
		}
		stack.pop();
		state.set(id, 'done');
	};
	for (const id of tasks.keys()) if (!state.has(id)) visit(id);
	return cycles;
}

/** Every problem of `plan` (empty when it is valid). */
export function validatePlan(plan: Plan): PlanProblem[] {
	const problems: PlanProblem[] = [];
	const byId = new Map<string, PlanTask>();
	for (const task of plan.tasks) {
		if (byId.has(task.id))
			problems.push({
				code: 'DUPLICATE_ID',
				message: `Task id "${task.id}" is used more than once`,
				taskIds: [task.id],
			});
		else byId.set(task.id, task);
	}
	for (const task of plan.tasks) {
		for (const dep of new Set(task.dependsOn)) {
			if (dep === task.id)
				problems.push({
					code: 'SELF_DEPENDENCY',
					message: `Task "${task.id}" depends on itself`,
					taskIds: [task.id],
				});
			else if (!byId.has(dep))
				problems.push({
					code: 'MISSING_DEPENDENCY',
					message: `Task "${task.id}" depends on "${dep}", which is not in the plan`,
					taskIds: [task.id, dep],
				});
		}
	}
	for (const cycle of findCycles(byId))
		problems.push({
			code: 'CYCLE',
			message: `Dependency cycle: ${cycle.join(' → ')}`,
			taskIds: cycle,
		});

	if (![...byId.values()].some((t) => t.dependsOn.length === 0)) {
		problems.push({
			code: 'NO_ROOT',
			message: 'No task can start: every task depends on another',
			taskIds: [],
		});
		return problems;
	}
	// Reachable from the roots: a task whose dependencies are all reachable (unknown ones and itself, reported above,
	// aside); what is left waits on a cycle.
	const reachable = new Set<string>();
	for (let grew = true; grew;) {
		grew = false;
		for (const task of byId.values()) {
			if (
				!reachable.has(task.id) &&
				task.dependsOn.every((d) => d !== task.id && (!byId.has(d) || reachable.has(d)))
			) {
				reachable.add(task.id);
				grew = true;
			}
		}
	}
	const unreachable = [...byId.keys()].filter((id) => !reachable.has(id));
	if (unreachable.length) {
		problems.push({
			code: 'UNREACHABLE',
			message: `Tasks that can never start (they wait on a cycle): ${unreachable.join(', ')}`,
			taskIds: unreachable,
		});
	}
	return problems;
}

/** Throws PlanValidationError listing every problem. */
export function assertValidPlan(plan: Plan): void {
	const problems = validatePlan(plan);
	if (problems.length) throw new PlanValidationError(problems);
}
