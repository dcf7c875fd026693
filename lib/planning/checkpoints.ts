/**
 * Checkpoints of a plan run in lib/memory, one namespace per plan run id: the plan itself and each completed task's
 * result. Running the same plan run id again (a retried or re-triggered execution, after a worker crash) reuses the
 * plan and skips the completed tasks.
 */
import {
	encodeComponent,
	internalNamespace,
	type AccessPolicy,
	type Memory,
	type Namespace,
} from '../memory';
import type { Delegation, DelegationStore } from './manager';
import type { PlanRevision } from './replan';
import type { CheckpointStore, TaskRunResult } from './run-state';
import type { Plan } from './schema';

/** What the plan key holds: the plan (its latest revision) and the revisions that led to it. */
type SavedPlan = Plan & { revisions?: PlanRevision[] };

/** Identifies one plan run: its workflow and plan run ID, under the memory store's tenant. */
interface PlanRunKey {
	workflowId: string;
	runId: string;
	tenant?: string;
}

/**
 * Checkpoints in the internal scope "plan-run" (which no Memory node can address), one namespace per workflow and
 * plan run ID: the same plan run ID in another workflow sees nothing. The Memory given must be allowed to read and
 * write that scope (see CHECKPOINT_ACCESS).
 */
export class MemoryCheckpointStore implements CheckpointStore, DelegationStore {
	readonly ns: Namespace;

	constructor(
		private readonly memory: Memory,
		{ workflowId, runId, tenant = '' }: PlanRunKey,
		/** Checkpoints expire after this long, ms (default 7 days): a run id reused later starts afresh. */
		private readonly ttlMs = 7 * 24 * 60 * 60 * 1000,
	) {
		this.ns = internalNamespace(
			tenant,
			'plan-run',
			`${encodeComponent(workflowId)}/${encodeComponent(runId)}`,
		);
	}

	private async saved(): Promise<SavedPlan | undefined> {
		return (await this.memory.get(this.ns, 'plan'))?.value as SavedPlan | undefined;
	}

	async loadPlan(): Promise<Plan | undefined> {
		const saved = await this.saved();
		if (!saved) return undefined;
		const { revisions: _revisions, ...plan } = saved;
		return plan;
	}

	async loadRevisions(): Promise<PlanRevision[]> {
		return (await this.saved())?.revisions ?? [];
	}

	async savePlan(plan: Plan, revisions: PlanRevision[] = []): Promise<void> {
		const value: SavedPlan = { ...plan, ...(revisions.length ? { revisions } : {}) };
		await this.memory.set(this.ns, 'plan', value as never, { ttlMs: this.ttlMs });
	}

	async loadCompleted(taskIds: readonly string[]): Promise<Map<string, TaskRunResult>> {
		const stored = await Promise.all(taskIds.map((id) => this.memory.get(this.ns, `task:${id}`)));
		return new Map(
			stored.flatMap((s, i) => (s ? [[taskIds[i], s.value as unknown as TaskRunResult]] : [])),
		);
	}

	async saveCompleted(result: TaskRunResult): Promise<void> {
		await this.memory.set(this.ns, `task:${result.id}`, result, { ttlMs: this.ttlMs });
	}

	async loadDelegation(n: number): Promise<Delegation | undefined> {
		return (await this.memory.get(this.ns, `delegation:${n}`))?.value as Delegation | undefined;
	}

	async saveDelegation(delegation: Delegation): Promise<void> {
		await this.memory.set(this.ns, `delegation:${delegation.n}`, delegation as never, {
			ttlMs: this.ttlMs,
		});
	}
}

/** The access a checkpoint store's Memory needs: the internal plan-run scope only. */
export const CHECKPOINT_ACCESS: AccessPolicy = {
	read: ['plan-run'],
	write: ['plan-run'],
	requireTenant: false,
};
