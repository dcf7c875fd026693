/**
 * The README's "## Providers" tables: provider × feature from what test/compat/providers.test.ts observed against each
 * provider's profile, and the credential settings from lib/llm/providers.ts. The suite compares the README with these
 * renderings (OPENAGENTS_PROVIDER_TABLE=1 writes them into the README instead).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { providerInfo, type ProviderId } from '../../lib/llm/providers';

export const FEATURES = [
	'tools',
	'streaming tools',
	'structured output',
	'usage',
	'reasoning',
	'rate-limit headers',
	'embeddings',
	'rerank',
] as const;

export type Feature = (typeof FEATURES)[number];

export type Status = 'supported' | 'adapted' | 'not available';

/** What a test saw of one feature: adaptations we made, notes on how the provider does it, or why it is missing. */
export interface Observation {
	status: Status;
	/** Our adaptations (the status is `adapted` when there is one). */
	adapted: string[];
	/** How the provider does it, where that differs between providers. */
	notes: string[];
}

/** The README wording of each tag a test reports. */
export const PHRASES: Record<string, string> = {
	// tools
	'ids-added': 'ids given to calls sent without one',
	'reasoning-passed-back': '`reasoning_content` passed back on tool-call turns',
	'one-per-turn': 'one call per turn',
	'finish-stop': 'finish reason `stop`',
	// streaming tools
	'index-added': '`index` given to deltas without one',
	'stream-options-dropped': '`stream_options` refused (422): dropped and remembered',
	fragments: 'fragments by index',
	whole: 'whole calls',
	// structured output
	json_schema: '`response_format` json_schema',
	'json-schema-dropped':
		'json_schema refused (400): retried without it, remembered; schema in the prompt',
	'json-object': '`json_object` + schema in the prompt',
	// usage
	estimated: 'counted with cl100k_base when a stream has none (`estimated: true`)',
	'cache-fields': '`prompt_cache_hit_tokens` read as cached tokens',
	'usage-chunk': 'usage chunk',
	'last-chunk': 'usage on the last chunk',
	x_groq: '`x_groq.usage`',
	cached: 'cached tokens',
	'reasoning-tokens': 'reasoning tokens',
	// reasoning
	reasoning_content: '`reasoning_content` kept apart',
	'reasoning-field': '`reasoning` field kept apart',
	think: '`<think>` block split off, also mid-stream',
	'thinking-parts': 'typed `thinking` parts split off',
	hidden: 'hidden, counted in `reasoningTokens`',
	'no-reasoning': 'the model does not reason',
	// rate-limit headers
	'retry-after': '`Retry-After`',
	'retry-after-ms': '`retry-after-ms`',
	'x-ratelimit-reset': '`x-ratelimit-reset-*` durations',
	'epoch-reset': '`X-RateLimit-Reset`',
	'retry-info': '`RetryInfo.retryDelay` in the body (no header)',
	queue: 'no limit: requests queue',
	keepalive: 'no limit: requests held open with keep-alives',
	// embeddings
	batches: 'at most 100 inputs a request',
	float: 'asked as floats (the server ignores base64)',
	prefixes: '`search_document:` / `search_query:` prefixes',
	base64: 'base64',
	'no-embeddings': 'no /embeddings (404)',
	// rerank
	rerank: 'Cohere shape',
	'no-rerank': 'no /rerank: a clear error',
};

const phrase = (tag: string) => PHRASES[tag] ?? tag;

/** One table cell: the status, then the adaptations, then the notes. */
export function renderCell(o: Observation): string {
	const notes = o.notes.map(phrase).join('; ');
	if (o.status === 'not available') return `not available${notes ? ` (${notes})` : ''}`;
	if (o.status === 'adapted')
		return `adapted: ${o.adapted.map(phrase).join('; ')}${notes ? ` (${notes})` : ''}`;
	return `supported${notes ? ` (${notes})` : ''}`;
}

/** The provider × feature table. */
export function renderFeatureTable(
	providers: readonly ProviderId[],
	results: ReadonlyMap<string, Observation>,
): string {
	const lines = [
		`| provider | ${FEATURES.join(' | ')} |`,
		`|---|${FEATURES.map(() => '---').join('|')}|`,
	];
	for (const id of providers) {
		const cells = FEATURES.map((f) => {
			const o = results.get(`${id}|${f}`);
			return o ? renderCell(o) : 'NOT TESTED';
		});
		lines.push(`| ${providerInfo(id).label} | ${cells.join(' | ')} |`);
	}
	return lines.join('\n');
}

/** The credential settings per provider (lib/llm/providers.ts). */
export function renderSettingsTable(providers: readonly ProviderId[]): string {
	const lines = [
		'| provider | Provider setting | Base URL | API key | also |',
		'|---|---|---|---|---|',
	];
	for (const id of providers) {
		const info = providerInfo(id);
		const baseUrl = info.settings.baseUrl.includes('`')
			? info.settings.baseUrl
			: `\`${info.settings.baseUrl}\``;
		lines.push(
			`| ${info.label} | ${info.label} (or Auto-Detect) | ${baseUrl} | ${info.settings.apiKey} | ${info.settings.notes ?? ''} |`,
		);
	}
	return lines.join('\n');
}

const README = join(__dirname, '..', '..', 'README.md');

/** The text between `<!-- name: … -->` and `<!-- /name -->` in the README (undefined when the block is missing). */
export function readmeBlock(name: string): string | undefined {
	const text = readFileSync(README, 'utf8');
	const start = text.indexOf(`<!-- ${name}:`);
	const end = text.indexOf(`<!-- /${name} -->`);
	if (start < 0 || end < start) return undefined;
	return text.slice(text.indexOf('\n', start) + 1, end).trim();
}

/** Replaces the README block `name` with `content`. */
export function writeReadmeBlock(name: string, content: string): void {
	const text = readFileSync(README, 'utf8');
	const start = text.indexOf(`<!-- ${name}:`);
	const end = text.indexOf(`<!-- /${name} -->`);
	if (start < 0 || end < start) throw new Error(`README has no block ${name}`);
	const head = text.slice(0, text.indexOf('\n', start) + 1);
	writeFileSync(README, `${head}${content}\n${text.slice(end)}`);
}
