/**
 * `npm start`: the local stack for trying the package.
 *  - a real Chroma server,
 *  - the offline model server (a deterministic stand-in for an LLM), unless a real OpenAI-compatible endpoint is
 *    configured with OPENAGENTS_LLM_BASE_URL / OPENAI_BASE_URL and OPENAGENTS_LLM_API_KEY / OPENAI_API_KEY,
 *  - n8n 2.x with this package installed as a community package: queue mode (main + 1 worker) when
 *    DB_POSTGRESDB_HOST and QUEUE_BULL_REDIS_HOST are set, else n8n's single-process default (SQLite),
 *  - the owner account and our credentials, then prints the editor URL and login. Ctrl-C stops everything.
 * State (n8n user folder, Chroma data) is kept in $OPENAGENTS_STATE_DIR (default ./.openagents).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { startChroma, type ChromaServer } from '../test/support/chroma';
import { OfflineModelServer } from '../test/support/model-server';
import { DEFAULT_OWNER } from '../test/support/n8n/client';
import { N8nCluster } from '../test/support/n8n/cluster';

const env = process.env;
const stateDir = resolve(env.OPENAGENTS_STATE_DIR ?? '.openagents');
const say = (line: string) => console.log(`[openagents] ${line}`);

interface Llm {
	baseUrl: string;
	apiKey: string;
	chatModel: string;
	embeddingModel: string;
	offline?: OfflineModelServer;
}

async function startLlm(): Promise<Llm> {
	const baseUrl = env.OPENAGENTS_LLM_BASE_URL ?? env.OPENAI_BASE_URL;
	const apiKey = env.OPENAGENTS_LLM_API_KEY ?? env.OPENAI_API_KEY;
	if (baseUrl || apiKey) {
		const url = baseUrl ?? 'https://api.openai.com/v1';
		say(`Using the real model API at ${url}`);
		return {
			baseUrl: url,
			apiKey: apiKey ?? '',
			chatModel: env.OPENAGENTS_CHAT_MODEL ?? 'gpt-4o-mini',
			embeddingModel: env.OPENAGENTS_EMBEDDING_MODEL ?? 'text-embedding-3-small',
		};
	}
	const offline = new OfflineModelServer({ port: Number(env.OPENAGENTS_MODEL_PORT ?? 0) });
	const url = await offline.start();
	say(`No model API configured: started the OFFLINE STAND-IN model at ${url}`);
	say('  (deterministic test fixture, not a language model; set OPENAI_API_KEY or OPENAGENTS_LLM_BASE_URL for a real one)');
	return { baseUrl: url, apiKey: 'offline', chatModel: offline.chatModel, embeddingModel: offline.embeddingModel, offline };
}

async function main() {
	mkdirSync(stateDir, { recursive: true });
	const stoppers: Array<() => Promise<void>> = [];
	let stopping = false;
	const shutdown = async (code: number) => {
		if (stopping) return;
		stopping = true;
		say('Stopping...');
		for (const stop of stoppers.reverse()) await stop().catch((e: Error) => say(`stop failed: ${e.message}`));
		say('Stopped.');
		process.exit(code);
	};
	process.on('SIGINT', () => void shutdown(0));
	process.on('SIGTERM', () => void shutdown(0));

	try {
		const llm = await startLlm();
		if (llm.offline) stoppers.push(() => llm.offline!.stop());

		say('Starting Chroma...');
		const chroma: ChromaServer = await startChroma({
			port: env.OPENAGENTS_CHROMA_PORT ? Number(env.OPENAGENTS_CHROMA_PORT) : undefined,
			dataDir: join(stateDir, 'chroma'),
			logFile: join(stateDir, 'logs', 'chroma.log'),
		});
		stoppers.push(() => chroma.stop());
		say(`Chroma is up at ${chroma.url}`);

		const queue = Boolean(env.DB_POSTGRESDB_HOST && env.QUEUE_BULL_REDIS_HOST);
		const cluster = await N8nCluster.start({
			mode: queue ? 'queue' : 'regular',
			workers: 1,
			name: 'demo',
			userFolder: join(stateDir, 'n8n'),
			port: Number(env.N8N_PORT ?? 5678),
			...(queue
				? {
						database: env.DB_POSTGRESDB_DATABASE ?? 'openagents_demo',
						postgres: {
							host: env.DB_POSTGRESDB_HOST!,
							port: Number(env.DB_POSTGRESDB_PORT ?? 5432),
							user: env.DB_POSTGRESDB_USER ?? 'postgres',
							password: env.DB_POSTGRESDB_PASSWORD ?? '',
						},
						redis: { host: env.QUEUE_BULL_REDIS_HOST!, port: Number(env.QUEUE_BULL_REDIS_PORT ?? 6379), password: env.QUEUE_BULL_REDIS_PASSWORD },
					}
				: {}),
			log: say,
		});
		stoppers.push(() => cluster.stop());
		const client = cluster.client;

		say('Creating credentials...');
		await client.upsertCredential('OpenAgents LLM', 'openAgentsLlmApi', {
			baseUrl: llm.baseUrl,
			apiKey: llm.apiKey,
			chatModel: llm.chatModel,
			embeddingModel: llm.embeddingModel,
		});
		await client.upsertCredential('OpenAgents Chroma', 'openAgentsChromaApi', {
			url: chroma.url,
			authentication: 'none',
			tenant: 'default_tenant',
			database: 'default_database',
		});
		await client.upsertCredential('OpenAgents Memory (Redis)', 'openAgentsMemoryStore', {
			backend: 'redis',
			host: env.REDIS_HOST ?? env.QUEUE_BULL_REDIS_HOST ?? '127.0.0.1',
			redisPort: Number(env.REDIS_PORT ?? env.QUEUE_BULL_REDIS_PORT ?? 6379),
			redisDatabase: 0,
			prefix: 'openagents_demo',
		});
		await client.upsertCredential('OpenAgents n8n API', 'openAgentsN8nApi', { baseUrl: `${client.url}/api/v1`, apiKey: client.connection.apiKey });

		say('');
		say(`n8n is ready (${queue ? 'queue mode: main + 1 worker' : 'single-process mode, SQLite'}).`);
		say(`  Editor:   ${client.url}`);
		say(`  Login:    ${DEFAULT_OWNER.email} / ${DEFAULT_OWNER.password}`);
		say(`  Model:    ${llm.offline ? 'offline stand-in' : 'real API'} at ${llm.baseUrl}`);
		say(`  Chroma:   ${chroma.url}`);
		say(`  State:    ${stateDir}`);
		say('READY. Press Ctrl-C to stop.');
	} catch (error) {
		say(`Failed: ${(error as Error).message}`);
		await shutdown(1);
	}
}

void main();
