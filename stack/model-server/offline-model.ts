/**
 * The default behaviour of the offline stand-in model, used when a test has scripted nothing:
 *  1. tool results pending after the last user turn → answer from them, citing sources as [n];
 *  2. an offered retrieval tool (search / retrieve / knowledge / lookup) not yet called → call it with the question;
 *  3. a structured-output request (json_schema, json_object or a forced tool) → a value valid for the schema,
 *     and a plan `{ goal, tasks[] }` when the schema (or the prompt) asks for one;
 *  4. otherwise a short deterministic text reply, marked as coming from the stand-in.
 * It is a deterministic test fixture, not a language model.
 */
import { words } from './embeddings';
import type {
	ChatMessage,
	ChatRequest,
	JsonSchema,
	MessageContent,
	ModelReply,
	ToolDefinition,
} from './types';

const RETRIEVAL_TOOL = /search|retriev|knowledge|lookup|rag|docs?\b/i;
const QUERY_FIELDS = ['query', 'input', 'question', 'q', 'search', 'text', 'prompt'];
const STOPWORDS = new Set(
	'a an and are as at be by do does for from how i in is it of on or the this to what when where which who why with you your'.split(
		' ',
	),
);

export function textOf(content: MessageContent | undefined): string {
	if (content == null) return '';
	if (typeof content === 'string') return content;
	return content.map((part) => part.text ?? '').join('');
}

function lastUserIndex(messages: ChatMessage[]): number {
	for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') return i;
	return -1;
}

/** The system (and developer) messages' text, joined by newlines. */
export function systemText(messages: ChatMessage[]): string {
	return messages
		.filter((m) => m.role === 'system' || m.role === 'developer')
		.map((m) => textOf(m.content))
		.join('\n');
}

export function lastUserText(messages: ChatMessage[]): string {
	const i = lastUserIndex(messages);
	return i < 0 ? '' : textOf(messages[i].content);
}

/** Tool results that arrived after the latest user message. */
function toolResultsSinceLastUser(messages: ChatMessage[]): string[] {
	return messages
		.slice(lastUserIndex(messages) + 1)
		.filter((m) => m.role === 'tool')
		.map((m) => textOf(m.content));
}

// ---------------------------------------------------------------------------------------------------------------
// Structured values

/** A value that satisfies `schema` (objects get every declared property; arrays at least one item). */
function valueForSchema(schema: JsonSchema | undefined, hint: string, name = ''): unknown {
	if (!schema) return hint;
	if ('const' in schema) return schema.const;
	if (schema.enum?.length) return schema.enum[0];
	const options = schema.anyOf ?? schema.oneOf;
	if (options?.length) {
		const nonNull = options.find((o) => o.type !== 'null') ?? options[0];
		return valueForSchema(nonNull, hint, name);
	}
	const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
	switch (type ?? (schema.properties ? 'object' : 'string')) {
		case 'object': {
			const out: Record<string, unknown> = {};
			for (const [key, sub] of Object.entries(schema.properties ?? {}))
				out[key] = valueForSchema(sub, hint, key);
			return out;
		}
		case 'array': {
			const count = Math.max(1, schema.minItems ?? 1);
			return Array.from({ length: count }, () => valueForSchema(schema.items, hint, name));
		}
		case 'integer':
		case 'number':
			return typeof schema.minimum === 'number' ? schema.minimum : 1;
		case 'boolean':
			return true;
		case 'null':
			return null;
		default:
			if (QUERY_FIELDS.includes(name.toLowerCase())) return hint;
			return name ? `offline ${name}` : hint;
	}
}

/** Keeps `value`'s fields that the schema knows, fills the missing ones, drops extras where the schema forbids them. */
function fitToSchema(
	value: unknown,
	schema: JsonSchema | undefined,
	hint: string,
	name = '',
): unknown {
	if (!schema) return value;
	if (Array.isArray(value) && schema.type === 'array') {
		return value.map((item) => fitToSchema(item, schema.items, hint, name));
	}
	if (value && typeof value === 'object' && !Array.isArray(value) && schema.properties) {
		const source = value as Record<string, unknown>;
		const out: Record<string, unknown> = schema.additionalProperties === false ? {} : { ...source };
		for (const [key, sub] of Object.entries(schema.properties)) {
			out[key] =
				key in source ? fitToSchema(source[key], sub, hint, key) : valueForSchema(sub, hint, key);
		}
		return out;
	}
	return value === undefined ? valueForSchema(schema, hint, name) : value;
}

/**
 * The aspects of a goal a plan researches: its clauses (split at "?", ";", ",", " and ", " vs ", sentence ends)
 * that hold a content word; the whole goal when none does; at most four.
 */
function goalAspects(goal: string): string[] {
	const clauses = goal
		.split(/\?|;|,|\.\s|\s+(?:and|vs\.?|versus|or)\s+/i)
		.map((c) => c.trim().replace(/[.!]+$/, ''))
		.filter((c) => contentWords(c).size >= 1);
	return (clauses.length ? clauses : [goal.trim() || 'the goal']).slice(0, 4);
}

/** A short task id from a text's first content words, unique among `taken`. */
function taskId(text: string, taken: Set<string>): string {
	const ascii = [...contentWords(text)].filter((w) => /^[a-z0-9]+$/.test(w));
	const base = ascii.slice(0, 3).join('-').slice(0, 40) || 'task';
	let id = base;
	for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
	taken.add(id);
	return id;
}

/**
 * A research plan derived from `goal`: one research task per aspect of the goal (see goalAspects), in parallel,
 * then one task that answers the goal from their results. Agents come from `roles` when the prompt lists them.
 */
export function planFor(goal: string, roles: readonly string[] = []) {
	const subject = goal.trim() || 'the goal';
	const researcher = roles.find((r) => /research|search|find/i.test(r)) ?? roles[0] ?? 'researcher';
	const writer =
		roles.find((r) => /writ|answer|author|report/i.test(r)) ?? roles.at(-1) ?? 'writer';
	const taken = new Set<string>(['answer']);
	const research = goalAspects(subject).map((aspect) => ({
		id: taskId(aspect, taken),
		title: `Research: ${aspect}`.slice(0, 200),
		description: `Find what the sources say about: ${aspect}`,
		agent: researcher,
		dependsOn: [] as string[],
	}));
	return {
		goal: subject,
		tasks: [
			...research,
			{
				id: 'answer',
				title: 'Answer the goal',
				description: `Write a concise answer to: ${subject}`,
				agent: writer,
				dependsOn: research.map((t) => t.id),
			},
		],
	};
}

/**
 * The reply to a planning request: a plan derived from the goal, or — when the goal has fewer than two content
 * words (e.g. "redis?") — no tasks and a clarifying question.
 */
function planningReply(request: ChatRequest) {
	const goal = goalOf(request);
	if (contentWords(goal).size < 2) {
		return { goal, tasks: [], clarifyingQuestions: [`What do you want to know about "${goal}"?`] };
	}
	return planFor(goal, rolesIn(request));
}

/** The roles a planning prompt allows ("Assign each task to one of these agents: a, b, c."). */
function rolesIn(request: ChatRequest): string[] {
	const line = /one of these agents:\s*([^\n]+?)\.?\s*$/im.exec(systemText(request.messages))?.[1];
	return line
		? line
				.split(',')
				.map((r) => r.trim())
				.filter(Boolean)
		: [];
}

/** The latest "Goal: …" line of the user's messages (a repair request comes after it), else the last user text. */
function goalOf(request: ChatRequest): string {
	const users = request.messages.filter((m) => m.role === 'user').map((m) => textOf(m.content));
	for (const text of users.reverse()) {
		const labelled = text.match(/^\s*goal\s*:\s*(.+)$/im);
		if (labelled) return labelled[1].trim();
	}
	return lastUserText(request.messages).trim();
}

/** The JSON Schema an instruction in the system message asks the reply to match (lib/llm's structuredInstruction). */
function schemaInPrompt(request: ChatRequest): JsonSchema | undefined {
	for (const message of request.messages) {
		if (message.role !== 'system' && message.role !== 'developer') continue;
		const line = /matches this JSON Schema:\n(.+)$/m.exec(textOf(message.content))?.[1];
		if (!line) continue;
		try {
			return JSON.parse(line) as JsonSchema;
		} catch {
			// not a schema after all
		}
	}
	return undefined;
}

function wantsPlan(schema: JsonSchema | undefined, request: ChatRequest): boolean {
	if (schema?.properties && 'tasks' in schema.properties) return true;
	const system = systemText(request.messages);
	return !schema && /\bplan\b/i.test(system) && /\btasks?\b/i.test(system);
}

function structuredValue(schema: JsonSchema | undefined, request: ChatRequest): unknown {
	const question = lastUserText(request.messages);
	if (wantsPlan(schema, request)) return fitToSchema(planningReply(request), schema, question);
	if (!schema) return { answer: textAnswer(request) };
	return valueForSchema(schema, question);
}

// ---------------------------------------------------------------------------------------------------------------
// Retrieval answers

interface Passage {
	text: string;
	source?: string;
}

function passageFrom(item: unknown): Passage | undefined {
	if (typeof item === 'string') return { text: item };
	if (!item || typeof item !== 'object') return undefined;
	const o = item as Record<string, unknown>;
	const metadata = (o.metadata ?? {}) as Record<string, unknown>;
	const text = o.text ?? o.pageContent ?? o.content ?? o.document ?? o.chunk;
	if (typeof text !== 'string') return undefined;
	const source = o.source ?? metadata.source ?? o.title ?? o.id;
	return { text, source: source === undefined ? undefined : String(source) };
}

/** An item of a JSON tool result; n8n 2.x delivers a tool node's output as [{ "response": <the tool's text> }]. */
function passagesOfItem(item: unknown): Passage[] {
	const response = (item as { response?: unknown } | null)?.response;
	if (response !== undefined)
		return parsePassages(typeof response === 'string' ? response : JSON.stringify(response));
	const passage = passageFrom(item);
	return passage ? [passage] : [];
}

/**
 * Passages from a tool result: JSON (array, or object with results/documents/chunks/items, possibly inside n8n's
 * [{ response }] envelope) or `[n] text` blocks.
 */
export function parsePassages(raw: string): Passage[] {
	try {
		const parsed: unknown = JSON.parse(raw);
		const list = Array.isArray(parsed)
			? parsed
			: ['results', 'documents', 'chunks', 'items', 'sources']
					.map((k) => (parsed as Record<string, unknown>)?.[k])
					.find(Array.isArray);
		if (Array.isArray(list)) return list.flatMap(passagesOfItem);
		const single = passageFrom(parsed);
		if (single) return [single];
	} catch {
		// not JSON: fall through to numbered blocks
	}
	const blocks = [
		...raw.matchAll(
			/^\[(\d+)\]\s*(?:\(?source:\s*([^)\n]+)\)?\s*)?([\s\S]*?)(?=^\[\d+\]|(?![\s\S]))/gm,
		),
	];
	if (blocks.length) return blocks.map((b) => ({ source: b[2]?.trim(), text: b[3].trim() }));
	return raw.trim() ? [{ text: raw.trim() }] : [];
}

function contentWords(text: string): Set<string> {
	return new Set(words(text).filter((w) => !STOPWORDS.has(w)));
}

function sentences(text: string): string[] {
	return text
		.replace(/\s+/g, ' ')
		.split(/(?<=[.!?])\s+/)
		.map((s) => s.trim())
		.filter(Boolean);
}

/**
 * Answers `question` from `passages`: the best-overlapping sentence of up to two passages, each cited as [n]
 * (n = the passage's 1-based position), then a Sources list. Says so when no passage shares a word with the question.
 */
function citedAnswer(question: string, passages: Passage[]): string {
	const asked = contentWords(question);
	const scored = passages
		.map((passage, i) => {
			let best = { sentence: '', score: 0 };
			for (const sentence of sentences(passage.text)) {
				const score = [...contentWords(sentence)].filter((w) => asked.has(w)).length;
				if (score > best.score) best = { sentence, score };
			}
			return { n: i + 1, passage, ...best };
		})
		.filter((s) => s.score > 0)
		.sort((a, b) => b.score - a.score || a.n - b.n)
		.slice(0, 2);
	if (!scored.length) return 'The provided context does not contain the answer to this question.';
	const body = scored.map((s) => `${s.sentence.replace(/[.!?]?$/, '')} [${s.n}].`).join(' ');
	const sources = scored.map((s) => `[${s.n}] ${s.passage.source ?? `passage ${s.n}`}`).join('\n');
	return `${body}\n\nSources:\n${sources}`;
}

function promptPassages(request: ChatRequest): Passage[] {
	const context = request.messages
		.filter((m) => m.role !== 'assistant' && m.role !== 'tool')
		.map((m) => textOf(m.content))
		.find((t) => /^\[1\]/m.test(t));
	return context ? parsePassages(context.slice(context.search(/^\[1\]/m))) : [];
}

// ---------------------------------------------------------------------------------------------------------------

function textAnswer(request: ChatRequest): string {
	const question = lastUserText(request.messages).replace(/\s+/g, ' ').trim();
	const firstSentence = sentences(question)[0] ?? '';
	return `[offline stand-in model] Done: ${firstSentence.slice(0, 200) || 'no input given'}`;
}

function forcedTool(request: ChatRequest): ToolDefinition | undefined {
	const choice = request.tool_choice;
	const tools = request.tools ?? [];
	if (choice && typeof choice === 'object')
		return tools.find((t) => t.function.name === choice.function.name);
	if (choice === 'required')
		return tools.find((t) => RETRIEVAL_TOOL.test(t.function.name)) ?? tools[0];
	return undefined;
}

function retrievalTool(request: ChatRequest): ToolDefinition | undefined {
	if (request.tool_choice === 'none') return undefined;
	return (request.tools ?? []).find(
		(t) =>
			RETRIEVAL_TOOL.test(t.function.name) || RETRIEVAL_TOOL.test(t.function.description ?? ''),
	);
}

export function offlineModel(request: ChatRequest): ModelReply {
	const question = lastUserText(request.messages);
	const toolResults = toolResultsSinceLastUser(request.messages);
	if (toolResults.length) {
		return { content: citedAnswer(question, toolResults.flatMap(parsePassages)) };
	}

	const forced = forcedTool(request);
	const tool = forced ?? retrievalTool(request);
	if (tool) {
		const parameters = tool.function.parameters;
		const args =
			forced && wantsPlan(parameters, request)
				? fitToSchema(planningReply(request), parameters, question)
				: valueForSchema(
						parameters ?? { type: 'object', properties: { input: { type: 'string' } } },
						question,
					);
		return { toolCalls: [{ name: tool.function.name, arguments: args }] };
	}

	const format = request.response_format;
	if (format?.type === 'json_schema')
		return { content: JSON.stringify(structuredValue(format.json_schema?.schema, request)) };
	if (format?.type === 'json_object')
		return { content: JSON.stringify(structuredValue(undefined, request)) };
	const promptSchema = schemaInPrompt(request);
	if (promptSchema) return { content: JSON.stringify(structuredValue(promptSchema, request)) };

	const passages = promptPassages(request);
	if (passages.length) return { content: citedAnswer(question, passages) };
	return { content: textAnswer(request) };
}
