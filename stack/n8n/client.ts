/**
 * HTTP helpers for a running n8n: owner bootstrap, public API (`/api/v1`, X-N8N-API-KEY) and the editor's
 * internal REST API (`/rest`, session cookie) for what the public API lacks (credential types, credential tests).
 */
import { nodeOutput as jobsNodeOutput } from '../../lib/jobs';
import { sleep } from '../process';

export interface N8nConnection {
	/** e.g. http://127.0.0.1:5678 */
	url: string;
	apiKey: string;
	cookie: string;
	owner: { email: string; password: string };
}

export interface Execution {
	id: string;
	finished: boolean;
	mode: string;
	status: 'canceled' | 'crashed' | 'error' | 'new' | 'running' | 'success' | 'unknown' | 'waiting';
	startedAt: string;
	stoppedAt: string | null;
	workflowId: string;
	/** Execution metadata ($execution.customData), with includeData. */
	customData?: Record<string, string>;
	data?: {
		resultData: {
			runData: Record<
				string,
				Array<{
					data?: { main: Array<Array<{ json: Record<string, unknown> }>> };
					error?: { message: string };
				}>
			>;
			error?: { message: string };
		};
	};
}

export const DEFAULT_OWNER = {
	email: 'owner@openagents.local',
	firstName: 'Open',
	lastName: 'Agents',
	password: 'OpenAgents-Demo-1',
};

/**
 * fetch for the API calls, sent again once when the connection it reused was closed by n8n before the request
 * reached it: n8n's HTTP server drops idle keep-alive connections after 5 s, and a request written just as that
 * happens fails with "other side closed" (undici's UND_ERR_SOCKET) without n8n having read it — seen when a test
 * starts about 5 s after the global setup's last call on a loaded machine. Webhook calls never go through this:
 * sending one again could start a second execution.
 */
async function fetchReusingConnection(url: string, init: RequestInit): Promise<Response> {
	try {
		return await fetch(url, init);
	} catch (error) {
		const cause = (error as { cause?: { code?: string } }).cause;
		if (cause?.code !== 'UND_ERR_SOCKET') throw error;
		return fetch(url, init);
	}
}

async function parse(res: Response, what: string): Promise<unknown> {
	const text = await res.text();
	if (!res.ok) throw new Error(`${what} failed: HTTP ${res.status} ${text.slice(0, 500)}`);
	return text ? JSON.parse(text) : undefined;
}

function sessionCookie(res: Response): string {
	const cookie = res.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
	if (!cookie) throw new Error('n8n did not set the n8n-auth cookie');
	return cookie.split(';')[0];
}

export class N8nClient {
	constructor(readonly connection: N8nConnection) {}

	get url() {
		return this.connection.url;
	}

	/**
	 * Sets up the owner account on a fresh instance (or logs in when it already has one) and creates an API key
	 * with every scope. Retries while the REST API is still starting.
	 */
	static async bootstrap(
		url: string,
		owner = DEFAULT_OWNER,
		timeoutMs = 60_000,
	): Promise<N8nClient> {
		const deadline = Date.now() + timeoutMs;
		let res: Response;
		while (true) {
			res = await fetch(`${url}/rest/owner/setup`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(owner),
			});
			if (res.ok || res.status === 400 || Date.now() > deadline) break;
			await res.body?.cancel();
			await sleep(500);
		}
		let cookie: string;
		if (res.ok) {
			cookie = sessionCookie(res);
		} else {
			await res.body?.cancel();
			const login = await fetch(`${url}/rest/login`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ emailOrLdapLoginId: owner.email, password: owner.password }),
			});
			await parse(login, 'Owner login');
			cookie = sessionCookie(login);
		}
		const rest = new N8nClient({ url, apiKey: '', cookie, owner });
		const scopes = await rest.rest<string[]>('GET', '/api-keys/scopes');
		const key = await rest.rest<{ rawApiKey: string }>('POST', '/api-keys', {
			label: `openagents-${Date.now()}`,
			scopes,
			expiresAt: null,
		});
		return new N8nClient({ ...rest.connection, apiKey: key.rawApiKey });
	}

	/** Public API call; `path` is below /api/v1. */
	async api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await fetchReusingConnection(`${this.url}/api/v1${path}`, {
			method,
			headers: {
				'X-N8N-API-KEY': this.connection.apiKey,
				...(body ? { 'content-type': 'application/json' } : {}),
			},
			body: body ? JSON.stringify(body) : undefined,
		});
		return (await parse(res, `${method} /api/v1${path}`)) as T;
	}

	/** Internal REST call as the owner; returns the response's `data`. */
	async rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await fetchReusingConnection(`${this.url}/rest${path}`, {
			method,
			headers: {
				cookie: this.connection.cookie,
				...(body ? { 'content-type': 'application/json' } : {}),
			},
			body: body ? JSON.stringify(body) : undefined,
		});
		return ((await parse(res, `${method} /rest${path}`)) as { data: T }).data;
	}

	async createCredential(
		name: string,
		type: string,
		data: Record<string, unknown>,
	): Promise<{ id: string; name: string }> {
		return this.api('POST', '/credentials', { name, type, data });
	}

	/** Creates the credential, replacing any stored credential of the same name and type (so re-runs stay current). */
	async upsertCredential(
		name: string,
		type: string,
		data: Record<string, unknown>,
	): Promise<{ id: string; name: string }> {
		const existing = await this.rest<Array<{ id: string; name: string; type: string }>>(
			'GET',
			'/credentials',
		);
		for (const credential of existing.filter((c) => c.name === name && c.type === type)) {
			await this.api('DELETE', `/credentials/${credential.id}`);
		}
		return this.createCredential(name, type, data);
	}

	/**
	 * Runs n8n's credential test on unsaved credential data, as the editor's "Test" button does
	 * (an empty id is how the owner tests data that is not stored): `{ status: 'OK' | 'Error', message }`.
	 */
	async testCredential(
		type: string,
		data: Record<string, unknown>,
	): Promise<{ status: string; message: string }> {
		return this.rest('POST', '/credentials/test', {
			credentials: { id: '', name: `test ${type}`, type, data },
		});
	}

	/** Names of every credential type this n8n has loaded. */
	async credentialTypeNames(): Promise<string[]> {
		const res = await fetch(`${this.url}/types/credentials.json`, {
			headers: { cookie: this.connection.cookie },
		});
		const types = (await parse(res, 'GET /types/credentials.json')) as Array<{ name: string }>;
		return types.map((t) => t.name);
	}

	async createWorkflow(workflow: {
		name: string;
		nodes: unknown[];
		connections: unknown;
		settings?: unknown;
	}): Promise<{ id: string }> {
		return this.api('POST', '/workflows', { settings: { executionOrder: 'v1' }, ...workflow });
	}

	/**
	 * Activates a workflow. n8n registers production webhooks shortly after the API call returns, so this also
	 * waits until each of `webhookPaths` answers a CORS preflight (204), which runs no execution. A path is the webhook's
	 * path (a POST webhook) or { path, method }.
	 */
	async activateWorkflow(
		id: string,
		webhookPaths: Array<string | { path: string; method: string }> = [],
		timeoutMs = 30_000,
	): Promise<void> {
		await this.api('POST', `/workflows/${id}/activate`);
		const deadline = Date.now() + timeoutMs;
		for (const webhook of webhookPaths) {
			const { path, method } =
				typeof webhook === 'string' ? { path: webhook, method: 'POST' } : webhook;
			while (true) {
				const res = await fetch(`${this.url}/webhook/${path}`, {
					method: 'OPTIONS',
					headers: { origin: this.url, 'access-control-request-method': method },
				});
				await res.body?.cancel();
				if (res.status === 204 || res.status === 200) break;
				if (Date.now() > deadline)
					throw new Error(`Webhook ${path} of workflow ${id} not registered after ${timeoutMs} ms`);
				await sleep(200);
			}
		}
	}

	/** Calls a production webhook of an active workflow; `signal` gives up on it (e.g. AbortSignal.timeout). */
	async webhook(
		path: string,
		body?: unknown,
		method = 'POST',
		headers: Record<string, string> = {},
		signal?: AbortSignal,
	): Promise<Response> {
		return fetch(`${this.url}/webhook/${path}`, {
			method,
			signal,
			headers: {
				...headers,
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	}

	/**
	 * Runs the workflow's evaluation as the editor's "Run evaluation" does (n8n's test runner: one execution per row of
	 * the Evaluation Trigger's data set, metrics from its Evaluation nodes' Set Metrics) and waits for it to end.
	 */
	async runEvaluation(
		workflowId: string,
		timeoutMs = 300_000,
	): Promise<{ run: TestRun; cases: TestCase[] }> {
		const res = await fetch(`${this.url}/rest/workflows/${workflowId}/test-runs/new`, {
			method: 'POST',
			headers: { cookie: this.connection.cookie, 'content-type': 'application/json' },
			body: '{}',
		});
		const { testRunId } = (await parse(res, 'Start the evaluation')) as { testRunId: string };
		const path = `/workflows/${workflowId}/test-runs/${testRunId}`;
		const deadline = Date.now() + timeoutMs;
		let run = await this.rest<TestRun>('GET', path);
		while (run.status === 'new' || run.status === 'running') {
			if (Date.now() > deadline)
				throw new Error(`Evaluation ${testRunId} still ${run.status} after ${timeoutMs} ms`);
			await sleep(500);
			run = await this.rest<TestRun>('GET', path);
		}
		return { run, cases: await this.rest<TestCase[]>('GET', `${path}/test-cases`) };
	}

	async executions(
		query: { workflowId?: string; status?: string; limit?: number; includeData?: boolean } = {},
	): Promise<Execution[]> {
		const qs = new URLSearchParams(
			Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
		);
		return (await this.api<{ data: Execution[] }>('GET', `/executions?${qs}`)).data;
	}

	async execution(id: string, includeData = true): Promise<Execution> {
		return this.api('GET', `/executions/${id}?includeData=${includeData}`);
	}

	/** Polls until the workflow has `count` finished executions (any final status); returns them with data. */
	async waitForExecutions(
		workflowId: string,
		count: number,
		timeoutMs = 60_000,
	): Promise<Execution[]> {
		const deadline = Date.now() + timeoutMs;
		while (true) {
			const done = (await this.executions({ workflowId, limit: 250 })).filter(
				(e) => !['new', 'running', 'waiting'].includes(e.status),
			);
			if (done.length >= count) return Promise.all(done.map((e) => this.execution(e.id)));
			if (Date.now() > deadline)
				throw new Error(
					`Only ${done.length} of ${count} executions of workflow ${workflowId} finished in ${timeoutMs} ms`,
				);
			await sleep(300);
		}
	}
}

/** An evaluation run of n8n's test runner: its status and the metrics averaged over its cases. */
export interface TestRun {
	id: string;
	status: 'new' | 'running' | 'completed' | 'error' | 'cancelled';
	metrics: Record<string, number> | null;
	errorCode: string | null;
}

/** One case (data-set row) of a test run: the execution that ran it and the metrics Set Metrics gave. */
export interface TestCase {
	executionId: string | null;
	status: string;
	errorCode: string | null;
	metrics: Record<string, number> | null;
	runIndex: number;
}

/** The JSON items a node output in an execution's first run; throws when the node did not run. */
export function nodeOutput(execution: Execution, nodeName: string): Array<Record<string, unknown>> {
	const output = jobsNodeOutput(execution, nodeName);
	if (!output) throw new Error(`Node "${nodeName}" did not run in execution ${execution.id}`);
	return output;
}
