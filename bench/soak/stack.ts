/**
 * The soak test's stack: n8n in queue mode (main + 2 workers; executions in a Postgres database of its own, Bull on
 * the shared Redis under a prefix of its own), a private redis-server that only the Memory credential uses (so it can
 * be restarted without touching the queue), Chroma, the offline model server and a mail receiver for example 6's
 * Send Email tool. Examples 1, 2, 3, 6 and 8 are imported as shipped (2 made public with a login, as the README says
 * to before exposing it), and example 1 fills the knowledge base the others search.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

import { startChroma, type ChromaServer } from '../../stack/chroma';
import {
	activateExample,
	importExample,
	loadExample,
	setIngestSettings,
	upsertExampleCredentials,
	webhookPath,
	type ExampleWorkflow,
} from '../../stack/examples';
import {
	OfflineModelServer,
	offlineModel,
	offlineModelConfig,
	type ChatRequest,
} from '../../stack/model-server';
import { N8nCluster } from '../../stack/n8n/cluster';
import { REPO_ROOT } from '../../stack/n8n/community-package';
import { startRedis, type PrivateRedis } from '../../stack/redis';
import type { SoakOptions } from './options';

const KNOWLEDGE_BASE = 'npm-readmes';
const MEMORY_PREFIX = 'openagents-soak';

/** What example 1 ingests: five READMEs of installed packages. */
const INGEST = {
	folder: join(REPO_ROOT, 'node_modules'),
	pattern: '{ioredis,pg,zod,chromadb,@langchain/core}/README.md',
};

interface SoakFlow {
	workflowId: string;
	/** The production webhook path (example 8: the chat completions path). */
	path: string;
}

export interface SoakStack {
	cluster: N8nCluster;
	model: OfflineModelServer;
	chroma: ChromaServer;
	memoryRedis: PrivateRedis;
	mail: { server: Server; sent: number };
	webhookKey: string;
	chatCompletionsKey: string;
	chatLogin: { user: string; password: string };
	flows: Record<'ingest' | 'chat' | 'research' | 'approval' | 'chatCompletions', SoakFlow>;
}

/** Example 6's agent emails through its tool; every other request gets the offline model's own answer. */
function modelHandler(request: ChatRequest) {
	if (!request.tools?.some((t) => t.function.name === 'Send_Email')) return offlineModel(request);
	if (request.messages.some((m) => m.role === 'tool'))
		return { content: 'I have answered by email.' };
	return {
		content: 'I will reply by email.',
		toolCalls: [
			{
				name: 'Send_Email',
				arguments: { to: 'ann@example.com', subject: 'Your order', text: 'It ships today.' },
			},
		],
	};
}

async function startMail(): Promise<SoakStack['mail']> {
	const mail = { server: undefined as unknown as Server, sent: 0 };
	mail.server = createServer((req, res) => {
		req.resume();
		req.on('end', () => {
			mail.sent++;
			res.setHeader('content-type', 'application/json');
			res.end('{"sent": true}');
		});
	});
	await new Promise<void>((resolve) => mail.server.listen(0, '127.0.0.1', resolve));
	return mail;
}

/**
 * Starts everything; each part's stop is pushed on `stoppers` as soon as it runs, so a failed start stops what did
 * start.
 */
export async function startSoakStack(
	options: SoakOptions,
	stoppers: Array<() => Promise<void>>,
	log: (line: string) => void,
): Promise<SoakStack> {
	const model = new OfflineModelServer({ port: options.ports.model, keptRequests: 1000 });
	await model.start();
	stoppers.push(() => model.stop());
	model.setHandler(modelHandler);
	const chroma = await startChroma({ port: options.ports.chroma });
	stoppers.push(() => chroma.stop());
	const memoryRedis = await startRedis({ port: options.ports.memoryRedis });
	stoppers.push(() => memoryRedis.stop());
	const mail = await startMail();
	stoppers.push(() => new Promise((resolve) => mail.server.close(() => resolve())));

	const cluster = await N8nCluster.start({
		mode: 'queue',
		workers: 2,
		name: 'soak',
		port: options.ports.n8n,
		log,
		env: {
			N8N_RESTRICT_FILE_ACCESS_TO: INGEST.folder,
			// Tells growth a collector has not yet reclaimed from growth it cannot reclaim: with a heap limit, the first
			// stays under it and the second ends the process.
			...(options.n8nHeapMiB ? { NODE_OPTIONS: `--max-old-space-size=${options.n8nHeapMiB}` } : {}),
		},
	});
	stoppers.push(() => cluster.stop());
	const { client } = cluster;
	const secrets = await upsertExampleCredentials(client, {
		llm: offlineModelConfig(model),
		chromaUrl: chroma.url,
		redis: { host: memoryRedis.host, port: memoryRedis.port, prefix: MEMORY_PREFIX },
		namePrefix: 'soak: ',
	});
	const { credentials } = secrets;
	const activate = async (file: string, entry: string, edit?: (w: ExampleWorkflow) => void) => {
		const workflow = loadExample(file, credentials);
		edit?.(workflow);
		const workflowId = await importExample(client, workflow);
		await activateExample(client, workflowId, workflow);
		return { workflowId, path: webhookPath(workflow, entry) };
	};
	const flows: SoakStack['flows'] = {
		ingest: await activate('01-ingest-knowledge-base.json', 'Ingest Request', (w) =>
			setIngestSettings(w, { ...INGEST, knowledgeBase: KNOWLEDGE_BASE }),
		),
		chat: await activate('02-chat-with-knowledge-base.json', 'Chat', (w) => {
			const trigger = w.nodes.find((n) => n.name === 'Chat')!;
			Object.assign(trigger.parameters, { public: true, authentication: 'basicAuth' });
			trigger.credentials = { httpBasicAuth: credentials.httpBasicAuth };
		}),
		research: await activate('03-plan-and-research.json', 'Research Request'),
		approval: await activate('06-approval-gated-agent.json', 'Support Request', (w) => {
			const { port } = mail.server.address() as { port: number };
			w.nodes.find((n) => n.name === 'Send Email')!.parameters.url =
				`http://127.0.0.1:${port}/send`;
		}),
		chatCompletions: await activate('08-openai-compatible-agent.json', 'Chat Completions'),
	};
	return {
		cluster,
		model,
		chroma,
		memoryRedis,
		mail,
		webhookKey: secrets.webhookKey,
		chatCompletionsKey: secrets.chatCompletionsKey,
		chatLogin: secrets.dashboardLogin,
		flows,
	};
}
