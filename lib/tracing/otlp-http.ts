/**
 * Our OTLP/HTTP span exporter: posts finished spans as OTLP/JSON (otlp-json.ts) to `<endpoint>/v1/traces`.
 *
 * Why ours: OpenTelemetry's own OTLP/HTTP trace exporter package installs 20 MB under n8n. n8n installs packages with
 * `npm install --install-strategy=shallow`, which does not dedupe between dependencies, so the exporter's own copies
 * of otlp-exporter-base, otlp-transformer, sdk-logs, sdk-metrics, api-logs and semantic-conventions all land on disk
 * for the few hundred lines of it we use. This file and otlp-json.ts are those lines.
 *
 * It follows the OTLP/HTTP protocol (https://opentelemetry.io/docs/specs/otlp/#otlphttp): a POST of a JSON-encoded
 * ExportTraceServiceRequest with `Content-Type: application/json`, 2xx is success (a partial-success body is not an
 * error), 429, 502, 503 and 504 and connection failures are retried with exponential backoff (or after Retry-After)
 * within the export's timeout, anything else fails at once. Its configuration is the one that official exporter
 * (0.223.1) gave our TraceExport, read the same way (the exporter specification,
 * https://opentelemetry.io/docs/specs/otel/protocol/exporter/):
 *  - URL: the given one (the credential's endpoint + /v1/traces); else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is;
 *    else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces; else http://localhost:4318/v1/traces.
 *  - Headers: OTEL_EXPORTER_OTLP_HEADERS, overridden key by key by OTEL_EXPORTER_OTLP_TRACES_HEADERS, then by the
 *    given headers (the credential's), then Content-Type.
 *  - gzip when OTEL_EXPORTER_OTLP_TRACES_COMPRESSION (else OTEL_EXPORTER_OTLP_COMPRESSION) is "gzip".
 *  - TLS files for https from OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY.
 *  - The timeout is ours (EXPORT_LIMITS.exportTimeoutMillis), so OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT does not apply.
 *  - At most 30 exports in flight; connections are kept alive.
 * Export failures come back as a FAILED result with the reason (the caller reports them); nothing is thrown.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { resolve as resolvePath } from 'node:path';
import { gzipSync } from 'node:zlib';

import { ExportResultCode, parseKeyPairsIntoRecord, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

import { traceRequestJson } from './otlp-json';

type Env = Record<string, string | undefined>;

/** The URL when none is given or configured (the OTLP/HTTP default). */
export const DEFAULT_TRACES_URL = 'http://localhost:4318/v1/traces';

/** Retries as the official exporter does them: at most 5, from 1 s, ×1.5, at most 5 s, ±20 % jitter. */
const RETRY = { attempts: 5, initialMillis: 1000, maxMillis: 5000, multiplier: 1.5, jitter: 0.2 };
const CONCURRENCY_LIMIT = 30;
/** How much of an error response's body goes into the failure message. */
const ERROR_BODY_CHARS = 200;
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const RETRYABLE_NETWORK_ERRORS = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'EPIPE',
	'ETIMEDOUT',
	'EAI_AGAIN',
	'ENOTFOUND',
	'ENETUNREACH',
	'EHOSTUNREACH',
]);

export interface OtlpHttpOptions {
	/** The traces URL (with /v1/traces); undefined: from the environment, then the default. */
	url?: string;
	/** Headers of every request; they override the OTEL_EXPORTER_OTLP_[TRACES_]HEADERS ones with the same key. */
	headers?: Record<string, string>;
	/** Bound of one export, retries included. */
	timeoutMillis: number;
	userAgent: string;
}

/** What a request is sent with, from the options and the environment (see the file comment). */
interface OtlpHttpSettings {
	url: string;
	headers: Record<string, string>;
	gzip: boolean;
	/** TLS files for https: the variable that named each file and its path. */
	tls: Partial<Record<'ca' | 'cert' | 'key', { variable: string; path: string }>>;
}

/** A variable's value; unset, empty and blank are the same (as @opentelemetry/core's getStringFromEnv). */
function variable(env: Env, name: string): string | undefined {
	const value = env[name];
	return value == null || value.trim() === '' ? undefined : value;
}

function parses(url: string): boolean {
	try {
		new URL(url);
		return true;
	} catch {
		return false;
	}
}

/** The traces URL from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT (unparsable: skipped). */
function urlFromEnvironment(env: Env): string | undefined {
	const traces = variable(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
	if (traces !== undefined && parses(traces)) return new URL(traces).toString();
	const base = variable(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
	if (base === undefined || !parses(base)) return undefined;
	const url = `${base.endsWith('/') ? base : `${base}/`}v1/traces`;
	return parses(url) ? url : undefined;
}

function compressionFromEnvironment(env: Env, name: string): string | undefined {
	const value = variable(env, name)?.trim();
	return value === 'gzip' || value === 'none' ? value : undefined;
}

/** The settings for `options` in the environment `env`. */
export function otlpHttpSettings(
	options: Pick<OtlpHttpOptions, 'url' | 'headers'>,
	env: Env = process.env,
): OtlpHttpSettings {
	const url =
		(options.url === undefined ? undefined : options.url.trim()) ??
		urlFromEnvironment(env) ??
		DEFAULT_TRACES_URL;
	const headers: Record<string, string> = {
		...parseKeyPairsIntoRecord(variable(env, 'OTEL_EXPORTER_OTLP_HEADERS')),
		...parseKeyPairsIntoRecord(variable(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS')),
	};
	for (const [key, value] of Object.entries(options.headers ?? {}))
		if (value !== undefined) headers[key] = String(value);
	headers['Content-Type'] = 'application/json';
	const compression =
		compressionFromEnvironment(env, 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION') ??
		compressionFromEnvironment(env, 'OTEL_EXPORTER_OTLP_COMPRESSION');
	const tls: OtlpHttpSettings['tls'] = {};
	const files = { ca: 'CERTIFICATE', cert: 'CLIENT_CERTIFICATE', key: 'CLIENT_KEY' } as const;
	for (const [option, suffix] of Object.entries(files) as Array<[keyof typeof files, string]>) {
		for (const name of [`OTEL_EXPORTER_OTLP_TRACES_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
			const path = variable(env, name);
			if (path === undefined) continue;
			tls[option] = { variable: name, path };
			break;
		}
	}
	return { url, headers, gzip: compression === 'gzip', tls };
}

/** Retry-After in ms (seconds or an HTTP date), as the official exporter reads it. */
function retryAfterMillis(header: string | undefined): number | undefined {
	if (header == null) return undefined;
	const seconds = Number.parseInt(header, 10);
	if (Number.isInteger(seconds)) return seconds > 0 ? seconds * 1000 : -1;
	const delay = new Date(header).getTime() - Date.now();
	return delay >= 0 ? delay : 0;
}

type Attempt =
	| { status: 'success' }
	| { status: 'retryable'; error: Error; retryAfterMillis?: number }
	| { status: 'failure'; error: Error };

/** A SpanExporter that sends OTLP/JSON over HTTP (see the file comment). */
export class OtlpHttpSpanExporter implements SpanExporter {
	readonly settings: OtlpHttpSettings;

	private readonly agents = new Map<string, http.Agent>();

	private readonly pending = new Set<Promise<void>>();

	private shutDown = false;

	constructor(
		private readonly options: OtlpHttpOptions,
		env: Env = process.env,
	) {
		this.settings = otlpHttpSettings(options, env);
	}

	/** The URL spans go to. */
	get url(): string {
		return this.settings.url;
	}

	export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
		const fail = (message: string) =>
			done({ code: ExportResultCode.FAILED, error: new Error(message) });
		if (this.shutDown) return fail('the exporter is shut down');
		if (this.pending.size >= CONCURRENCY_LIMIT) return fail('Concurrent export limit reached');
		const sending = this.exportWithRetries(spans).then((result) => {
			this.pending.delete(sending);
			done(result);
		});
		this.pending.add(sending);
	}

	/** Waits for the exports in flight. */
	async forceFlush(): Promise<void> {
		await Promise.all([...this.pending]);
	}

	async shutdown(): Promise<void> {
		this.shutDown = true;
		await this.forceFlush();
		for (const agent of this.agents.values()) agent.destroy();
		this.agents.clear();
	}

	/** One export: the request, retried while retryable and the timeout allows. Never rejects. */
	private async exportWithRetries(spans: ReadableSpan[]): Promise<ExportResult> {
		try {
			let url: URL;
			try {
				url = new URL(this.settings.url);
			} catch {
				throw new Error('the export URL is not a valid URL');
			}
			const json = Buffer.from(traceRequestJson(spans), 'utf8');
			const body = this.settings.gzip ? gzipSync(json) : json;
			const deadline = Date.now() + this.options.timeoutMillis;
			let attempt = await this.post(url, body, this.options.timeoutMillis);
			let backoff = RETRY.initialMillis;
			for (let retries = 0; attempt.status === 'retryable' && retries < RETRY.attempts; retries++) {
				const jittered = backoff * (1 + (Math.random() * 2 - 1) * RETRY.jitter);
				backoff *= RETRY.multiplier;
				const delay = attempt.retryAfterMillis ?? Math.max(Math.min(jittered, RETRY.maxMillis), 0);
				const remaining = deadline - Date.now();
				if (delay > remaining) break;
				await new Promise((resolve) => setTimeout(resolve, delay));
				attempt = await this.post(url, body, Math.max(deadline - Date.now(), 1));
			}
			return attempt.status === 'success'
				? { code: ExportResultCode.SUCCESS }
				: { code: ExportResultCode.FAILED, error: attempt.error };
		} catch (error) {
			return {
				code: ExportResultCode.FAILED,
				error: error instanceof Error ? error : new Error(String(error)),
			};
		}
	}

	/** The keep-alive agent of `protocol`, with the TLS files for https (read once; unreadable: throws). */
	private agent(protocol: string): http.Agent {
		let agent = this.agents.get(protocol);
		if (agent) return agent;
		if (protocol === 'http:') agent = new http.Agent({ keepAlive: true });
		else {
			const tls: Partial<Record<'ca' | 'cert' | 'key', Buffer>> = {};
			for (const [option, file] of Object.entries(this.settings.tls)) {
				try {
					tls[option as 'ca' | 'cert' | 'key'] = readFileSync(
						resolvePath(process.cwd(), file.path),
					);
				} catch (error) {
					throw new Error(
						`cannot read ${file.variable} (${file.path}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
					);
				}
			}
			agent = new https.Agent({ keepAlive: true, ...tls });
		}
		this.agents.set(protocol, agent);
		return agent;
	}

	/** One POST of `body`, settled by its answer, a network error, or `timeoutMillis`. */
	private post(url: URL, body: Buffer, timeoutMillis: number): Promise<Attempt> {
		if (url.protocol !== 'http:' && url.protocol !== 'https:')
			return Promise.resolve({
				status: 'failure',
				error: new Error(`unsupported protocol ${url.protocol} (http: or https: expected)`),
			});
		const agent = this.agent(url.protocol);
		return new Promise<Attempt>((resolve) => {
			let settled = false;
			const settle = (attempt: Attempt) => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				resolve(attempt);
			};
			const headers: http.OutgoingHttpHeaders = {
				...this.settings.headers,
				'Content-Length': body.length,
				'User-Agent': this.options.userAgent,
				...(this.settings.gzip ? { 'Content-Encoding': 'gzip' } : {}),
			};
			const request = (url.protocol === 'https:' ? https : http).request(
				url,
				{ method: 'POST', headers, agent },
				(response) => {
					const status = response.statusCode ?? 0;
					let text = '';
					response.setEncoding('utf8');
					response.on('data', (chunk: string) => {
						if (text.length < ERROR_BODY_CHARS) text += chunk;
					});
					const outcome = (error?: Error): Attempt => {
						if (status >= 200 && status <= 299) return { status: 'success' };
						const said = text.replace(/\s+/g, ' ').trim().slice(0, ERROR_BODY_CHARS);
						const failure =
							error ??
							new Error(
								`HTTP ${status} ${response.statusMessage ?? ''}`.trim() + (said ? `: ${said}` : ''),
							);
						return RETRYABLE_STATUS.has(status)
							? {
									status: 'retryable',
									error: failure,
									retryAfterMillis: retryAfterMillis(response.headers['retry-after']),
								}
							: { status: 'failure', error: failure };
					};
					response.on('end', () => settle(outcome()));
					response.on('error', (error) => settle(outcome(error)));
				},
			);
			const timer = setTimeout(() => {
				settle({
					status: 'retryable',
					error: new Error(`no answer within ${timeoutMillis} ms`),
				});
				request.destroy();
			}, timeoutMillis);
			request.on('error', (error: NodeJS.ErrnoException) =>
				settle(
					error.code && RETRYABLE_NETWORK_ERRORS.has(error.code)
						? { status: 'retryable', error }
						: { status: 'failure', error },
				),
			);
			request.end(body);
		});
	}
}
