/**
 * Every process of the bench cluster's stack as a named set whose CPU time stack/proc-cpu.ts reads from /proc, and
 * the round trips the servers count themselves. Which processes: n8n main and each running worker (each with the
 * task runner it spawned: its process group), Chroma, the shared Redis (its one server process), Postgres (the client
 * backends connected to the cluster's own database, and apart from them the server's background processes, which
 * every database of the shared server uses), the offline model server (the benchmark's own process, idle but for it
 * while the load generator runs) and the load generator.
 */
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';

import {
	cpuSnapshot,
	processGroup,
	processIds,
	type CpuSnapshot,
	type ProcessSet,
} from '../stack/proc-cpu';
import { postgresFromEnv, redisFromEnv } from '../stack/services';
import type { BenchCluster } from './cluster';

/** Counters read at both ends of a window: their difference ÷ executions gives round trips per execution. */
export interface RoundTripCounters {
	/** Commands the Redis server processed (INFO stats total_commands_processed; shared server: all its clients). */
	redisCommands: number;
	/** Transactions committed and rolled back in the cluster's database (pg_stat_database). */
	postgresTransactions: number;
	/** Rows inserted, updated and deleted in the cluster's database. */
	postgresRowsWritten: number;
	/** Requests the offline model server answered, per route (chat, embeddings, models, rerank). */
	model: Record<string, number>;
}

export interface StackProbe {
	/** Lists the servers' processes again (Postgres backends come and go) and reads every set's CPU time. */
	snapshot(): Promise<CpuSnapshot>;
	counters(): Promise<RoundTripCounters>;
	close(): Promise<void>;
}

/** The probe of `bench`'s stack, with the load generator's process ID. */
export async function stackProbe(
	bench: BenchCluster,
	loadGeneratorPid: number,
): Promise<StackProbe> {
	const database = bench.cluster.database;
	if (!database) throw new Error('the bench cluster has no Postgres database (not in queue mode)');
	const redis = new Redis({ ...redisFromEnv(), lazyConnect: true, maxRetriesPerRequest: 1 });
	await redis.connect();
	const pg = new PgClient({ ...postgresFromEnv(), database });
	await pg.connect();
	const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
	if (!(redisPid > 0)) throw new Error('Redis INFO server gave no process_id');

	let backends: number[] = [];
	let background: number[] = [];
	const listPostgres = async () => {
		const { rows } = await pg.query<{ pid: number; backend_type: string; datname: string | null }>(
			'SELECT pid, backend_type, datname FROM pg_stat_activity WHERE pid <> pg_backend_pid()',
		);
		backends = rows
			.filter((r) => r.backend_type === 'client backend' && r.datname === database)
			.map((r) => r.pid);
		// The postmaster is every backend's parent; read its ID from /proc through the set below.
		background = rows.filter((r) => r.backend_type !== 'client backend').map((r) => r.pid);
	};
	const sets = (): ProcessSet[] => [
		processGroup('n8n main', bench.cluster.main.pid),
		...bench.cluster.workers
			.filter((w) => w.process.running)
			.map((w) => processGroup(`n8n ${w.name}`, w.process.pid)),
		processIds('Redis (shared server)', () => [redisPid]),
		processIds("Postgres: backends of n8n's database", () => backends),
		{
			name: 'Postgres: server background processes (shared)',
			pids: (stats) => {
				const postmaster = stats.find((s) => s.pid === background[0])?.ppid;
				return postmaster ? [postmaster, ...background] : background;
			},
		},
		processGroup('Chroma', bench.chroma.process.pid),
		processIds('offline model server (benchmark process)', () => [process.pid]),
		processIds('load generator', () => [loadGeneratorPid]),
	];
	return {
		async snapshot() {
			await listPostgres();
			return cpuSnapshot(sets());
		},
		async counters() {
			const commands = Number(
				/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1],
			);
			const { rows } = await pg.query<Record<string, string>>(
				'SELECT xact_commit + xact_rollback AS xacts, tup_inserted + tup_updated + tup_deleted AS rows FROM pg_stat_database WHERE datname = $1',
				[database],
			);
			const model: Record<string, number> = {};
			for (const r of bench.model.requests) model[r.route] = (model[r.route] ?? 0) + 1;
			return {
				redisCommands: commands,
				postgresTransactions: Number(rows[0]?.xacts),
				postgresRowsWritten: Number(rows[0]?.rows),
				model,
			};
		},
		async close() {
			redis.disconnect();
			await pg.end();
		},
	};
}

/** after − before, each counter ÷ executions, to 2 decimals. */
export function roundTripsPerExecution(
	before: RoundTripCounters,
	after: RoundTripCounters,
	executions: number,
): Record<string, number> {
	const per = (x: number) => Math.round((x / executions) * 100) / 100;
	const model = Object.fromEntries(
		Object.keys(after.model).map((route) => [
			`model ${route} requests`,
			per(after.model[route] - (before.model[route] ?? 0)),
		]),
	);
	return {
		'Redis commands (whole server)': per(after.redisCommands - before.redisCommands),
		'Postgres transactions': per(after.postgresTransactions - before.postgresTransactions),
		'Postgres rows written': per(after.postgresRowsWritten - before.postgresRowsWritten),
		...model,
	};
}
