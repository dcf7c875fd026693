/**
 * A real n8n, started from the cached install with this package installed as a community package.
 *  - mode 'queue': main + N workers (Bull on Redis, executions in Postgres), every process with the same
 *    encryption key and user folder, each with its own task-runner broker and health-check ports.
 *  - mode 'regular': n8n's single-process default (SQLite in the user folder).
 * Every process gets OPENAGENTS_PROCESS_NAME (main, worker-1, ...) so a workflow can tell which process ran it.
 * stop() ends only the processes started here, drops only the database it created and deletes only Redis keys
 * under its own prefix.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { assertPortFree, freePort, ManagedProcess, waitForHttp } from '../process';
import {
	createDatabaseIfMissing,
	deleteKeys,
	dropDatabase,
	postgresFromEnv,
	redisFromEnv,
	type PostgresConfig,
	type RedisConfig,
} from '../services';
import { N8nClient, type N8nConnection } from './client';
import { installCommunityPackage, packPackage } from './community-package';
import { ensureN8nInstalled } from './install';

interface ClusterOptions {
	mode?: 'queue' | 'regular';
	/** Queue mode: number of worker processes (default 2) and jobs each runs at once (default 5). */
	workers?: number;
	workerConcurrency?: number;
	/** Used in the database name, Redis prefix and folder names. */
	name?: string;
	/** Kept across runs when given (demo); a temporary folder removed on stop otherwise. */
	userFolder?: string;
	/** Queue mode: database to use (created when missing). Default: a new `openagents_<name>_<random>` dropped on stop. */
	database?: string;
	port?: number;
	postgres?: PostgresConfig;
	redis?: RedisConfig;
	encryptionKey?: string;
	/** Extra environment for every n8n process. */
	env?: Record<string, string>;
	/** A packed tarball of this package; packed from the repo when omitted. */
	packageTarball?: string;
	log?: (line: string) => void;
}

/** Everything a test process needs to use a cluster started elsewhere (passed through an environment variable). */
interface ClusterInfo {
	connection: N8nConnection;
	mode: 'queue' | 'regular';
	database?: string;
	queuePrefix?: string;
	userFolder: string;
	main: { pid: number };
	workers: Array<{ name: string; pid: number; healthPort: number }>;
}

export const CLUSTER_ENV = 'OPENAGENTS_N8N_CLUSTER';

export class N8nCluster {
	readonly workers: Array<{ name: string; process: ManagedProcess; healthPort: number }> = [];

	/** Set once the owner account and API key exist (the last step of start()). */
	client!: N8nClient;

	private constructor(
		private readonly options: ClusterOptions & { mode: 'queue' | 'regular'; name: string },
		readonly userFolder: string,
		private readonly baseEnv: NodeJS.ProcessEnv,
		public main: ManagedProcess,
		private readonly createdDatabase: boolean,
		readonly database?: string,
		readonly queuePrefix?: string,
	) {}

	static async start(opts: ClusterOptions = {}): Promise<N8nCluster> {
		const log = opts.log ?? (() => {});
		const mode = opts.mode ?? 'queue';
		const name = opts.name ?? 'e2e';
		const suffix = randomBytes(4).toString('hex');
		const install = await ensureN8nInstalled(log);

		const userFolder = opts.userFolder ?? mkdtempSync(join(tmpdir(), `openagents-n8n-${name}-`));
		log('Installing n8n-nodes-openagents into n8n as a community package...');
		const tarball = opts.packageTarball ?? (await packPackage(join(userFolder, 'pack')));
		await installCommunityPackage(tarball, userFolder);

		if (opts.port) await assertPortFree(opts.port, 'n8n');
		const port = opts.port ?? (await freePort());
		const url = `http://127.0.0.1:${port}`;
		const env = n8nEnv(opts, { userFolder, port, url });
		// A kept user folder keeps the key n8n generated there on first start; a throwaway one gets a fresh key.
		const encryptionKey =
			opts.encryptionKey ?? (opts.userFolder ? undefined : `openagents-${name}-${suffix}`);
		if (encryptionKey) env.N8N_ENCRYPTION_KEY = encryptionKey;
		const queue: { created: boolean; database?: string; queuePrefix?: string } =
			mode === 'queue' ? await prepareQueueMode(opts, name, suffix, env) : { created: false };

		log(`Starting n8n main (${mode} mode) on ${url} ...`);
		const main = await spawnMain(install.bin, env, userFolder);
		const cluster = new N8nCluster(
			{ ...opts, mode, name },
			userFolder,
			env,
			main,
			queue.created,
			queue.database,
			queue.queuePrefix,
		);
		try {
			await cluster.becomeReady(url, opts.workers ?? 2);
			log(`n8n is ready at ${url}`);
			return cluster;
		} catch (error) {
			await cluster.stop();
			throw error;
		}
	}

	/** Waits for main, starts the workers (queue mode), then creates the owner account and API key (`client`). */
	private async becomeReady(url: string, workers: number): Promise<void> {
		await waitForHttp(`${url}/healthz/readiness`, { timeoutMs: 180_000, process: this.main });
		if (this.options.mode === 'queue') {
			await Promise.all(Array.from({ length: workers }, (_, i) => this.startWorker(i + 1)));
		}
		this.client = await N8nClient.bootstrap(url);
	}

	get url() {
		return this.client.url;
	}

	/** Kills main at once (as a machine failure would) and starts it again on the same port, database and Redis. */
	async restartMain(): Promise<void> {
		await this.main.stop('SIGKILL', 5_000);
		const install = await ensureN8nInstalled();
		this.main = await spawnMain(install.bin, this.baseEnv, this.userFolder);
		await waitForHttp(`${this.url}/healthz/readiness`, { timeoutMs: 180_000, process: this.main });
	}

	/** Starts worker `worker-<index>` (again, e.g. after a test killed it) and waits for its readiness check. */
	async startWorker(index: number): Promise<ManagedProcess> {
		const name = `worker-${index}`;
		const healthPort = await freePort();
		const install = await ensureN8nInstalled();
		const proc = ManagedProcess.spawn(
			`n8n ${name}`,
			process.execPath,
			[install.bin, 'worker', `--concurrency=${this.options.workerConcurrency ?? 5}`],
			{
				env: {
					...this.baseEnv,
					OPENAGENTS_PROCESS_NAME: name,
					QUEUE_HEALTH_CHECK_PORT: String(healthPort),
					N8N_RUNNERS_BROKER_PORT: String(await freePort()),
				},
				logFile: join(this.userFolder, 'logs', `${name}.log`),
			},
		);
		const existing = this.workers.findIndex((w) => w.name === name);
		if (existing >= 0) this.workers.splice(existing, 1);
		this.workers.push({ name, process: proc, healthPort });
		await waitForHttp(`http://127.0.0.1:${healthPort}/healthz/readiness`, {
			timeoutMs: 120_000,
			process: proc,
		});
		return proc;
	}

	info(): ClusterInfo {
		return {
			connection: this.client.connection,
			mode: this.options.mode,
			database: this.database,
			queuePrefix: this.queuePrefix,
			userFolder: this.userFolder,
			main: { pid: this.main.pid },
			workers: this.workers.map((w) => ({
				name: w.name,
				pid: w.process.pid,
				healthPort: w.healthPort,
			})),
		};
	}

	async stop(): Promise<void> {
		await Promise.all(this.workers.map((w) => w.process.stop('SIGTERM', 15_000)));
		await this.main.stop('SIGTERM', 15_000);
		if (this.options.mode === 'queue') {
			if (this.createdDatabase && this.database)
				await dropDatabase(this.options.postgres ?? postgresFromEnv(), this.database);
			// Bull's keys and n8n's own (N8N_REDIS_KEY_PREFIX, `<prefix>-n8n`), so no key of this cluster is left behind.
			if (this.queuePrefix)
				for (const pattern of [`${this.queuePrefix}:*`, `${this.queuePrefix}-n8n:*`])
					await deleteKeys(this.options.redis ?? redisFromEnv(), pattern);
		}
		if (!this.options.userFolder) rmSync(this.userFolder, { recursive: true, force: true });
	}
}

/**
 * How many finished Bull jobs n8n keeps (each of completed and failed; n8n's default is none). Main enqueues a job,
 * runs its workflowExecuteBefore hooks, and only then waits for the job with Bull's job.finished(); a job that
 * finished and was removed in between is never reported, and a webhook answering on its last node waits forever
 * (1 of 3000 requests in BENCH_ONLY=webhook-answers). Kept jobs let finished() see the outcome. Set through
 * `opts.env` (keptFinishedJobsEnv) to measure n8n's default.
 */
export const KEPT_FINISHED_JOBS = 1000;

/** n8n's settings that keep the last `count` completed and failed Bull jobs. */
export function keptFinishedJobsEnv(count: number): Record<string, string> {
	return {
		N8N_EXECUTIONS_QUEUE_KEEP_LAST_COMPLETED: String(count),
		N8N_EXECUTIONS_QUEUE_KEEP_LAST_FAILED: String(count),
	};
}

/** The environment every n8n process of a cluster shares (before encryption key and queue mode settings). */
function n8nEnv(
	opts: ClusterOptions,
	{ userFolder, port, url }: { userFolder: string; port: number; url: string },
): NodeJS.ProcessEnv {
	return {
		PATH: process.env.PATH,
		HOME: process.env.HOME,
		LANG: process.env.LANG ?? 'C.UTF-8',
		TZ: 'UTC',
		GENERIC_TIMEZONE: 'UTC',
		// As self-hosters should run it: without it n8n puts stack traces and server paths in error responses.
		NODE_ENV: 'production',
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		WEBHOOK_URL: `${url}/`,
		N8N_EDITOR_BASE_URL: `${url}/`,
		N8N_SECURE_COOKIE: 'false',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_METRICS: 'true',
		N8N_METRICS_INCLUDE_QUEUE_METRICS: 'true',
		N8N_BLOCK_ENV_ACCESS_IN_NODE: 'false',
		N8N_COMMUNITY_PACKAGES_ALLOW_TOOL_USAGE: 'true',
		N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '5',
		N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info',
		...opts.env,
	};
}

/**
 * Queue mode: creates the database when missing and adds Postgres, Bull and Redis-prefix settings to `env`.
 * Returns the database, whether it was created here (so stop() drops it) and the Redis prefix of this cluster.
 */
async function prepareQueueMode(
	opts: ClusterOptions,
	name: string,
	suffix: string,
	env: NodeJS.ProcessEnv,
): Promise<{ database: string; created: boolean; queuePrefix: string }> {
	const pg = opts.postgres ?? postgresFromEnv();
	const redis = opts.redis ?? redisFromEnv();
	const database = opts.database ?? `openagents_${name}_${suffix}`.replace(/[^a-z0-9_]/g, '_');
	const created = await createDatabaseIfMissing(pg, database);
	const queuePrefix = `openagents-${name}-${suffix}`;
	Object.assign(env, {
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: pg.host,
		DB_POSTGRESDB_PORT: String(pg.port),
		DB_POSTGRESDB_DATABASE: database,
		DB_POSTGRESDB_USER: pg.user,
		DB_POSTGRESDB_PASSWORD: pg.password,
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: redis.host,
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		...(redis.password ? { QUEUE_BULL_REDIS_PASSWORD: redis.password } : {}),
		QUEUE_BULL_PREFIX: queuePrefix,
		// Pub/sub channels and instance keys too: clusters sharing one Redis must not see each other.
		N8N_REDIS_KEY_PREFIX: `${queuePrefix}-n8n`,
		QUEUE_HEALTH_CHECK_ACTIVE: 'true',
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
	});
	for (const [key, value] of Object.entries(keptFinishedJobsEnv(KEPT_FINISHED_JOBS)))
		env[key] ??= value; // opts.env may set them
	return { database, created, queuePrefix };
}

/** Spawns n8n main (`n8n start`) with its own task-runner broker port, logging to <userFolder>/logs/main.log. */
async function spawnMain(
	bin: string,
	env: NodeJS.ProcessEnv,
	userFolder: string,
): Promise<ManagedProcess> {
	return ManagedProcess.spawn('n8n main', process.execPath, [bin, 'start'], {
		env: {
			...env,
			OPENAGENTS_PROCESS_NAME: 'main',
			N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		},
		logFile: join(userFolder, 'logs', 'main.log'),
	});
}

/** Reads the ClusterInfo that the e2e global setup exported. */
export function clusterFromEnv(): { info: ClusterInfo; client: N8nClient } {
	const raw = process.env[CLUSTER_ENV];
	if (!raw)
		throw new Error(
			`${CLUSTER_ENV} is not set: run e2e tests through jest's e2e project (global setup starts the cluster)`,
		);
	const info = JSON.parse(raw) as ClusterInfo;
	return { info, client: new N8nClient(info.connection) };
}
