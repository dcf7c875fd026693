/**
 * `npm start`: the local stack for trying the package.
 *  - a real Chroma server,
 *  - the offline model server (a deterministic stand-in for an LLM), unless a real OpenAI-compatible endpoint is
 *    configured with OPENAGENTS_LLM_BASE_URL / OPENAI_BASE_URL and OPENAGENTS_LLM_API_KEY / OPENAI_API_KEY,
 *  - n8n 2.x with this package installed as a community package: queue mode (main + 1 worker) when
 *    DB_POSTGRESDB_HOST and QUEUE_BULL_REDIS_HOST are set, else n8n's single-process default (SQLite),
 *  - the owner account, our credentials and the example workflows (examples/*.json),
 *  - then the flagship flow on real documents: the Markdown READMEs of the installed npm packages, or the folder
 *    OPENAGENTS_DOCS names (every file of a format the Knowledge Base reads; n8n may read only that folder), are
 *    ingested into a knowledge base (example 1), and a question is planned, researched and answered with citations (example 3),
 *    all inside n8n; it prints the answer, its citations, the plan with each task's status, and token usage
 *    (OPENAGENTS_QUESTION sets the question; OPENAGENTS_DEMO=0 skips the run),
 *  - finally the editor URL and login. Ctrl-C (or SIGTERM, SIGHUP, or the end of the parent npm) stops everything.
 * State (n8n user folder, Chroma data) is kept in $OPENAGENTS_STATE_DIR (default ./.openagents).
 */
import { createHash } from 'node:crypto';
import { globSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import { DOCUMENT_EXTENSIONS } from '../lib/rag';
import { startChroma, type ChromaServer } from '../stack/chroma';
import { stopOnExit, type Stopper } from '../stack/lifecycle';
import { OfflineModelServer } from '../stack/model-server';
import { DEFAULT_OWNER } from '../stack/n8n/client';
import { N8nCluster } from '../stack/n8n/cluster';
import { REPO_ROOT } from '../stack/n8n/community-package';
import {
	activateExample,
	setIngestSettings,
	upsertExampleCredentials,
	WEBHOOK_KEY_HEADER,
	exampleFiles,
	importExample,
	isEvaluation,
	loadExample,
	setEvaluationDataTable,
	setKnowledgeBase,
	upsertEvaluationDataTable,
	type CredentialRefs,
} from '../stack/examples';
import { printResearch, type ResearchResponse } from './report';

const env = process.env;
const stateDir = resolve(env.OPENAGENTS_STATE_DIR ?? '.openagents');
/** The memory store's key prefix: one per state folder, so two stacks on one Redis never share keys or checkpoints. */
const memoryPrefix = `openagents_demo_${createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`;
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
	const offline = new OfflineModelServer({
		port: Number(env.OPENAGENTS_MODEL_PORT ?? 0),
		keptRequests: 1000,
	});
	const url = await offline.start();
	say(`No model API configured: started the OFFLINE STAND-IN model at ${url}`);
	say(
		'  (deterministic test fixture, not a language model; set OPENAI_API_KEY or OPENAGENTS_LLM_BASE_URL for a real one)',
	);
	return {
		baseUrl: url,
		apiKey: 'offline',
		chatModel: offline.chatModel,
		embeddingModel: offline.embeddingModel,
		offline,
	};
}

/** Stops what has been started, last first. */
type Stoppers = Stopper[];

/** The running services: the model API, Chroma and n8n. */
interface Stack {
	llm: Llm;
	chroma: ChromaServer;
	cluster: N8nCluster;
	/** Queue mode (main + 1 worker on Postgres and Redis) rather than n8n's single-process default. */
	queue: boolean;
	corpus: Corpus;
}

/** What setting up n8n produced: webhook and login secrets, and the imported workflows' ids by example file. */
interface N8nSetup {
	webhookKey: string;
	dashboardLogin: { user: string; password: string };
	chatCompletionsKey: string;
	ids: Record<string, string>;
}

async function main() {
	mkdirSync(stateDir, { recursive: true });
	const stoppers: Stoppers = [];
	const shutdown = stopOnExit(stoppers, { say });
	try {
		const stack = await startStack(stoppers);
		const setup = await setUpN8n(stack);
		if (env.OPENAGENTS_DEMO !== '0')
			await runFlagship(
				stack.cluster.client,
				setup.webhookKey,
				setup.ids['03-plan-and-research.json'],
				stack.corpus,
			);
		printSummary(stack, setup);
	} catch (error) {
		say(`Failed: ${(error as Error).message}`);
		await shutdown(1);
	}
}

/** Starts the model API (unless a real one is configured), Chroma and n8n; each adds its stop to `stoppers`. */
async function startStack(stoppers: Stoppers): Promise<Stack> {
	const corpus = corpusFromEnv();
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
	const cluster = await startN8n(queue, corpus.folder);
	stoppers.push(() => cluster.stop());
	return { llm, chroma, cluster, queue, corpus };
}

/** n8n with the user folder in the state directory; queue mode on the Postgres and Redis the environment names. */
function startN8n(queue: boolean, folder: string): Promise<N8nCluster> {
	return N8nCluster.start({
		mode: queue ? 'queue' : 'regular',
		workers: 1,
		name: 'demo',
		userFolder: join(stateDir, 'n8n'),
		port: Number(env.N8N_PORT ?? 5678),
		// n8n's file nodes may read only the folder example 1 ingests.
		env: { N8N_RESTRICT_FILE_ACCESS_TO: folder },
		...(queue
			? {
					database: env.DB_POSTGRESDB_DATABASE ?? 'openagents_demo',
					postgres: {
						host: env.DB_POSTGRESDB_HOST!,
						port: Number(env.DB_POSTGRESDB_PORT ?? 5432),
						user: env.DB_POSTGRESDB_USER ?? 'postgres',
						password: env.DB_POSTGRESDB_PASSWORD ?? '',
					},
					redis: {
						host: env.QUEUE_BULL_REDIS_HOST!,
						port: Number(env.QUEUE_BULL_REDIS_PORT ?? 6379),
						password: env.QUEUE_BULL_REDIS_PASSWORD,
					},
				}
			: {}),
		log: say,
	});
}

/** Creates our credentials in n8n (for the stack's model API, Chroma and Redis), then imports the examples. */
async function setUpN8n({ llm, chroma, cluster, corpus }: Stack): Promise<N8nSetup> {
	say('Creating credentials...');
	const { credentials, webhookKey, dashboardLogin, chatCompletionsKey } =
		await upsertExampleCredentials(cluster.client, {
			llm: {
				baseUrl: llm.baseUrl,
				apiKey: llm.apiKey,
				chatModel: llm.chatModel,
				embeddingModel: llm.embeddingModel,
			},
			chromaUrl: chroma.url,
			redis: {
				host: env.REDIS_HOST ?? env.QUEUE_BULL_REDIS_HOST ?? '127.0.0.1',
				port: Number(env.REDIS_PORT ?? env.QUEUE_BULL_REDIS_PORT ?? 6379),
				prefix: memoryPrefix,
			},
			webhookKey: env.OPENAGENTS_WEBHOOK_KEY,
			dashboardPassword: env.OPENAGENTS_DASHBOARD_PASSWORD,
			chatCompletionsKey: env.OPENAGENTS_CHAT_COMPLETIONS_KEY,
		});
	// The project's questions are about the READMEs: a folder of yours needs questions of your own.
	const questions = corpus.own
		? undefined
		: await upsertEvaluationDataTable(cluster.client, EVALUATION_TABLE, evaluationQuestions());
	const ids = await importExamples(cluster.client, credentials, corpus, questions);
	return { webhookKey, dashboardLogin, chatCompletionsKey, ids };
}

/** The data table example 9 evaluates the knowledge base with. */
const EVALUATION_TABLE = 'OpenAgents evaluation questions';

/** The project's questions about the READMEs (bench/eval/questions.json, each written by reading its file). */
function evaluationQuestions() {
	const questions = JSON.parse(
		readFileSync(join(REPO_ROOT, 'bench', 'eval', 'questions.json'), 'utf8'),
	) as Array<{ question: string; file: string }>;
	return questions.map((q) => ({ question: q.question, expected: q.file }));
}

/**
 * Imports (and, except example 4 and the evaluation, activates) every example workflow: example 1 ingests `corpus`,
 * the others search its knowledge base, and example 9 reads the data table `questionsTable` (when given). Returns
 * their ids by file name.
 */
async function importExamples(
	client: N8nCluster['client'],
	credentials: CredentialRefs,
	corpus: Corpus,
	questionsTable?: string,
): Promise<Record<string, string>> {
	say('Importing the example workflows...');
	const ids: Record<string, string> = {};
	for (const file of exampleFiles()) {
		const workflow = loadExample(file, credentials);
		// Example 1 reads only its Settings folder: here, the corpus's.
		if (file.startsWith('01'))
			setIngestSettings(workflow, {
				folder: corpus.folder,
				pattern: corpus.pattern,
				knowledgeBase: corpus.knowledgeBase,
			});
		else setKnowledgeBase(workflow, corpus.knowledgeBase);
		const evaluation = isEvaluation(workflow);
		if (evaluation && questionsTable) setEvaluationDataTable(workflow, questionsTable);
		const id = (ids[file] = await importExample(client, workflow));
		// Example 4 retries every failed execution of this n8n once active: the user switches it on. An evaluation is
		// run from the editor, never activated.
		const activate = !file.startsWith('04') && !evaluation;
		if (activate) await activateExample(client, id, workflow);
		const note = evaluation
			? questionsTable
				? ` (run it from its Evaluations tab; questions: data table "${EVALUATION_TABLE}")`
				: ' (pick a data table of your questions, columns question and expected, then run it from its Evaluations tab)'
			: activate
				? ''
				: ' (inactive: activate it to alert on and retry failed jobs)';
		say(`  ${workflow.name}${note}: ${client.url}/workflow/${id}`);
	}
	return ids;
}

/** Where everything is and how to call it: editor, dashboard, metrics, login, model, webhooks, OpenAI endpoint. */
function printSummary({ llm, chroma, cluster, queue }: Stack, setup: N8nSetup): void {
	const { webhookKey, dashboardLogin, chatCompletionsKey } = setup;
	const url = cluster.client.url;
	say('');
	say(`n8n is ready (${queue ? 'queue mode: main + 1 worker' : 'single-process mode, SQLite'}).`);
	say(`  Editor:   ${url}`);
	say(
		`  Dashboard: ${url}/webhook/openagents-ops (example 5; login ${dashboardLogin.user} / ${dashboardLogin.password})`,
	);
	say(`  Metrics:  ${url}/webhook/openagents-metrics (Prometheus, same login)`);
	say(`  Login:    ${DEFAULT_OWNER.email} / ${DEFAULT_OWNER.password}`);
	say(`  Model:    ${llm.offline ? 'offline stand-in' : 'real API'} at ${llm.baseUrl}`);
	say(
		`  Webhooks: send the header ${WEBHOOK_KEY_HEADER}: ${webhookKey} (n8n credential "OpenAgents webhook key"), e.g.`,
	);
	say(
		`    curl -X POST -H '${WEBHOOK_KEY_HEADER}: ${webhookKey}' -H 'content-type: application/json' \\`,
	);
	say(`      -d '{"question": "How does ioredis reconnect?"}' ${url}/webhook/openagents-research`);
	say(`  Chat:     example 2 is not public: open it in the editor and use "Open chat"`);
	const openAiBase = `${url}/webhook/openagents/v1`;
	say(
		`  OpenAI:   example 8 serves the docs agent to any OpenAI client: base URL ${openAiBase}, API key ${chatCompletionsKey}, model openagents-docs, e.g.`,
	);
	say(
		`    curl ${openAiBase}/chat/completions -H 'Authorization: Bearer ${chatCompletionsKey}' -H 'content-type: application/json' \\`,
	);
	say(
		`      -d '{"model": "openagents-docs", "messages": [{"role": "user", "content": "How does ioredis reconnect?"}]}'`,
	);
	say(`  Chroma:   ${chroma.url}`);
	say(`  State:    ${stateDir}`);
	say('READY. Press Ctrl-C to stop.');
}

/** Prints "still working" every 10 s while `work` runs. */
async function withProgress<T>(what: string, work: Promise<T>): Promise<T> {
	const started = Date.now();
	const timer = setInterval(
		() => say(`  ... ${what} (${Math.round((Date.now() - started) / 1000)} s)`),
		10_000,
	);
	try {
		return await work;
	} finally {
		clearInterval(timer);
	}
}

/** What example 1 ingests and the other examples search. */
interface Corpus {
	folder: string;
	/** Its files: a glob relative to the folder. */
	pattern: string;
	knowledgeBase: string;
	/** How the run names the files. */
	what: string;
	/** Whether it is a folder of the user's (OPENAGENTS_DOCS). */
	own: boolean;
}

/**
 * The folder OPENAGENTS_DOCS names (`~` for the home folder; every file under it with an extension the Knowledge Base
 * reads, into knowledge base "my-docs"), else the READMEs of the installed npm packages ("npm-readmes").
 * Throws when OPENAGENTS_DOCS is not a folder.
 */
function corpusFromEnv(): Corpus {
	const docs = env.OPENAGENTS_DOCS?.trim();
	if (!docs)
		return {
			folder: join(REPO_ROOT, 'node_modules'),
			pattern: '{*,@*/*}/README.md',
			knowledgeBase: 'npm-readmes',
			what: 'Markdown READMEs of the installed npm packages',
			own: false,
		};
	const folder = resolve(docs.replace(/^~(?=$|\/)/, homedir()));
	if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory())
		throw new Error(`OPENAGENTS_DOCS is not a folder: ${folder}`);
	return {
		folder,
		pattern: `**/*.{${DOCUMENT_EXTENSIONS.join(',')}}`,
		knowledgeBase: 'my-docs',
		what: `documents in ${folder}`,
		own: true,
	};
}

/** Calls an example's webhook with its Header Auth key. */
async function post<T>(
	client: N8nCluster['client'],
	webhookKey: string,
	path: string,
	body: object,
): Promise<T> {
	const res = await client.webhook(path, body, 'POST', { [WEBHOOK_KEY_HEADER]: webhookKey });
	const text = await res.text();
	if (res.status !== 200)
		throw new Error(
			`The workflow behind /webhook/${path} failed (HTTP ${res.status}): ${text.slice(0, 500)}`,
		);
	return JSON.parse(text) as T;
}

/** Example 1 on the corpus, then example 3 with the question; prints what came back (and each file that failed). */
async function runFlagship(
	client: N8nCluster['client'],
	webhookKey: string,
	researchWorkflowId: string,
	corpus: Corpus,
): Promise<void> {
	const count = globSync(corpus.pattern, { cwd: corpus.folder }).length;
	say('');
	say(
		`Flagship flow, step 1: ingesting the ${count} ${corpus.what} into knowledge base "${corpus.knowledgeBase}" (example 1)...`,
	);
	const ingested = await withProgress(
		'ingesting',
		post<
			Array<{ chunks: number; added: number; unchanged: number; removed: number; error?: string }>
		>(client, webhookKey, 'openagents-ingest', {}),
	);
	const sum = (field: 'chunks' | 'added' | 'unchanged' | 'removed') =>
		ingested.reduce((n, item) => n + (item[field] ?? 0), 0);
	say(
		`  ${ingested.length} documents, ${sum('chunks')} chunks: ${sum('added')} added, ${sum('unchanged')} unchanged, ${sum('removed')} removed${ingested.some((i) => i.error) ? `, ${ingested.filter((i) => i.error).length} failed` : ''}`,
	);
	// Each message names its file; the other files are ingested all the same.
	for (const { error } of ingested) if (error) say(`  failed: ${error}`);

	const question =
		env.OPENAGENTS_QUESTION ??
		(corpus.own
			? 'What are these documents about?'
			: 'After how many retry attempts are pending commands flushed with an error when the Redis connection is down?');
	say('');
	say('Flagship flow, step 2: planning, researching and answering with citations (example 3)...');
	say(`  Question: ${question}`);
	// requestedAt makes each demo run a new plan run; re-posting the same body would resume the earlier one.
	const report = await withProgress(
		'researching',
		post<ResearchResponse>(client, webhookKey, 'openagents-research', {
			question,
			requestedAt: new Date().toISOString(),
		}),
	);
	printResearch(report, say);
	say(`  Executions: ${client.url}/workflow/${researchWorkflowId}/executions`);
}

void main();
