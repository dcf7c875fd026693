/**
 * n8n public API client (/api/v1) for executions and workflows: cursor pagination, every request under lib/retry
 * with the caller's signal and a per-attempt timeout. The API key goes in the X-N8N-API-KEY header only and is
 * redacted from every error message.
 */
import { redactText } from '../llm';
import {
	errorChain,
	httpStatusOf,
	isRetryableError,
	messageOf,
	RetryExhaustedError,
	withRetry,
	type RetryPolicy,
} from '../retry';
import { JobsError } from './errors';
import type { ApiExecution, ExecutionStatus } from './job';

interface N8nApiConfig {
	/** API root including /api/v1, e.g. https://n8n.example.com/api/v1 */
	baseUrl: string;
	apiKey: string;
}

export interface N8nApiOptions {
	policy: RetryPolicy;
	signal?: AbortSignal;
	/** Per-attempt limit, ms (default 30 000). Retrying an execution waits for it to finish: see retryExecution. */
	timeoutMs?: number;
	log?: (line: string) => void;
}

export interface ExecutionFilter {
	workflowId?: string;
	status?: ExecutionStatus;
	/** ISO 8601 times; the API filters on startedAt. */
	startedAfter?: string;
	startedBefore?: string;
	includeData?: boolean;
}

interface WorkflowSummary {
	id: string;
	name: string;
	active: boolean;
}

interface Page<T> {
	data: T[];
	nextCursor?: string | null;
}

/** Largest page the public API serves. */
const MAX_PAGE = 250;

export class N8nApiClient {
	private readonly baseUrl: string;

	constructor(
		private readonly config: N8nApiConfig,
		private readonly options: N8nApiOptions,
	) {
		this.baseUrl = config.baseUrl.replace(/\/+$/, '');
	}

	/** GET /executions/{id}. Throws JobsError NOT_FOUND for an unknown id (or one in a workflow the key cannot see). */
	async getExecution(id: string, { includeData = false } = {}): Promise<ApiExecution> {
		return this.request('GET', `/executions/${encodeURIComponent(id)}`, { query: { includeData } });
	}

	/** Every execution matching `filter`, newest first, page by page (cursor pagination). */
	async *executions(filter: ExecutionFilter = {}, pageSize = 100): AsyncGenerator<ApiExecution> {
		let cursor: string | undefined;
		do {
			const page: Page<ApiExecution> = await this.request('GET', '/executions', {
				query: { ...filter, limit: Math.min(pageSize, MAX_PAGE), cursor },
			});
			yield* page.data;
			cursor = page.nextCursor ?? undefined;
		} while (cursor);
	}

	/**
	 * Up to `limit` executions matching `filter`, newest first. n8n's API leaves running executions out unless asked
	 * for status "running"; without a status filter they are fetched too and merged in, so "any status" means any.
	 */
	async listExecutions(filter: ExecutionFilter, limit: number): Promise<ApiExecution[]> {
		if (limit <= 0) return [];
		const take = async (f: ExecutionFilter) => {
			const out: ApiExecution[] = [];
			for await (const execution of this.executions(f, Math.min(limit, MAX_PAGE))) {
				out.push(execution);
				if (out.length >= limit) break;
			}
			return out;
		};
		if (filter.status) return take(filter);
		const [running, others] = [await take({ ...filter, status: 'running' }), await take(filter)];
		const seen = new Set(others.map((e) => String(e.id)));
		return [...others, ...running.filter((e) => !seen.has(String(e.id)))]
			.sort(newestFirst)
			.slice(0, limit);
	}

	/**
	 * POST /executions/{id}/retry: n8n runs the execution again (from the failed node, with the saved workflow unless
	 * loadWorkflow) and answers when the new execution has finished. Not retried after the request may have been sent,
	 * so one call never starts two executions.
	 */
	async retryExecution(
		id: string,
		{ loadWorkflow = false, timeoutMs }: { loadWorkflow?: boolean; timeoutMs?: number } = {},
	): Promise<ApiExecution> {
		return this.request('POST', `/executions/${encodeURIComponent(id)}/retry`, {
			body: { loadWorkflow },
			timeoutMs,
			notSentOnly: true,
		});
	}

	/** POST /executions/{id}/stop: n8n cancels the running (or queued, waiting) execution, on whichever worker runs it. */
	async stopExecution(id: string): Promise<ApiExecution> {
		return this.request('POST', `/executions/${encodeURIComponent(id)}/stop`, {
			notSentOnly: true,
		});
	}

	/** GET /workflows/{id}: { id, name, active, … }. */
	async getWorkflow(id: string): Promise<WorkflowSummary> {
		return this.request('GET', `/workflows/${encodeURIComponent(id)}`);
	}

	/**
	 * GET /workflows: one page of the workflows the API key can see, { data: [{ id, name, active }], nextCursor }.
	 * `name` keeps those whose name contains it (n8n's filter: SQL LIKE, case-sensitive on Postgres).
	 */
	async listWorkflows({
		name,
		cursor,
		limit = 100,
	}: { name?: string; cursor?: string; limit?: number } = {}): Promise<{
		data: WorkflowSummary[];
		nextCursor?: string;
	}> {
		const page: Page<WorkflowSummary> = await this.request('GET', '/workflows', {
			query: {
				name: name?.trim(),
				cursor,
				limit: Math.min(limit, MAX_PAGE),
				excludePinnedData: true,
			},
		});
		return {
			data: page.data.map(({ id, name, active }) => ({ id: String(id), name, active })),
			nextCursor: page.nextCursor ?? undefined,
		};
	}

	/** Where n8n itself is served: the API root without /api/v1, e.g. https://n8n.example.com (for editor links). */
	n8nUrl(): string {
		return this.baseUrl.replace(/\/api\/v\d+$/, '');
	}

	/** n8n's Prometheus metrics text (GET <n8n URL>/metrics; needs N8N_METRICS=true on main). */
	async metricsText(): Promise<string> {
		return this.send('GET', `${this.n8nUrl()}/metrics`, { text: true });
	}

	private request<T>(
		method: string,
		path: string,
		options: {
			query?: Record<string, unknown>;
			body?: unknown;
			timeoutMs?: number;
			notSentOnly?: boolean;
		} = {},
	): Promise<T> {
		const query = new URLSearchParams();
		for (const [key, value] of Object.entries(options.query ?? {}))
			if (value !== undefined && value !== '') query.set(key, String(value));
		const url = `${this.baseUrl}${path}${query.size ? `?${query}` : ''}`;
		return this.send(method, url, options);
	}

	private async send<T>(
		method: string,
		url: string,
		options: { body?: unknown; timeoutMs?: number; notSentOnly?: boolean; text?: boolean },
	): Promise<T> {
		const what = `${method} ${url.replace(this.baseUrl, '').split('?')[0]}`;
		try {
			return await withRetry(
				async ({ signal }) => {
					const response = await fetch(url, {
						method,
						signal,
						headers: {
							'X-N8N-API-KEY': this.config.apiKey,
							accept: 'application/json',
							...(options.body ? { 'content-type': 'application/json' } : {}),
						},
						body: options.body ? JSON.stringify(options.body) : undefined,
					});
					const text = await response.text();
					if (!response.ok)
						throw Object.assign(new Error(apiMessage(text) || response.statusText), {
							status: response.status,
						});
					return (options.text ? text : JSON.parse(text)) as T;
				},
				this.options.policy,
				{
					signal: this.options.signal,
					timeoutMs: options.timeoutMs ?? this.options.timeoutMs ?? 30_000,
					isRetryable: options.notSentOnly ? notSent : isRetryableError,
					onRetry: ({ attempt, error, delayMs }) =>
						this.options.log?.(
							redactText(
								`n8n API ${what} failed (attempt ${attempt}), retrying in ${Math.round(delayMs)} ms: ${messageOf(error)}`,
								[this.config.apiKey],
							),
						),
				},
			);
		} catch (error) {
			throw this.toJobsError(error, what);
		}
	}

	private toJobsError(error: unknown, what: string): unknown {
		if (this.options.signal?.aborted) return error;
		const cause = error instanceof RetryExhaustedError ? error.lastError : error;
		const status = httpStatusOf(cause);
		const message = redactText(messageOf(cause), [this.config.apiKey]);
		const attempts =
			error instanceof RetryExhaustedError ? ` after ${error.attempts.length} attempts` : '';
		const base = this.baseUrl;
		if (status === 401)
			return new JobsError(
				'UNAUTHORIZED',
				`The n8n API at ${base} rejected the API key (401): check the OpenAgents Instance API credential`,
				{ status, cause: error },
			);
		if (status === 403)
			return new JobsError('FORBIDDEN', `The API key may not ${what} (403): ${message}`, {
				status,
				cause: error,
			});
		if (status === 404)
			return new JobsError('NOT_FOUND', `${what}: not found (404): ${message}`, {
				status,
				cause: error,
			});
		if (status === 409)
			return new JobsError('CONFLICT', `${what}: ${message} (409)`, { status, cause: error });
		if (status !== undefined)
			return new JobsError(
				'API_ERROR',
				`${what} failed with HTTP ${status}${attempts}: ${message}`,
				{ status, cause: error },
			);
		return new JobsError(
			'API_UNAVAILABLE',
			`Cannot reach the n8n API at ${base} (${what})${attempts}: ${message}`,
			{ cause: error },
		);
	}
}

/** Numeric ids (Postgres, SQLite) descending; other ids by text. */
function newestFirst(a: ApiExecution, b: ApiExecution): number {
	return Number(b.id) - Number(a.id) || String(b.id).localeCompare(String(a.id));
}

/** For non-idempotent calls: retry only when the request surely never reached the server. */
function notSent(error: unknown): boolean {
	return errorChain(error).some(
		(e) => e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN',
	);
}

function apiMessage(body: string): string {
	try {
		const parsed = JSON.parse(body) as { message?: unknown };
		return typeof parsed.message === 'string' ? parsed.message : body.slice(0, 300);
	} catch {
		return body.slice(0, 300);
	}
}
