/**
 * Structured output: the model's answer must be JSON that a zod schema accepts. Invalid output is never passed on:
 * the model is asked once more (by default) with the validation errors, then StructuredOutputError is thrown.
 */
import { HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import { z, type ZodIssue, type ZodType, type ZodTypeDef } from 'zod';

/** A schema whose parsed value is T, whatever its input type (defaults and transforms allowed). */
type OutputSchema<T> = ZodType<T, ZodTypeDef, unknown>;

import { invokeChatModel, messageText, type CallOptions, type InvokableChatModel } from './calls';
import { withStructuredOutput } from './provider-fetch';
import type { UsageTracker } from './usage';

export class StructuredOutputError extends Error {
	override name = 'StructuredOutputError';

	constructor(
		message: string,
		/** The model's last reply. */
		readonly raw: string,
		/** What was wrong, with field paths. */
		readonly issues: string[],
	) {
		super(message);
	}
}

type FieldType = 'string' | 'number' | 'boolean' | 'object' | 'array';

export interface OutputField {
	name: string;
	type: FieldType;
	description?: string;
	/** Default true. */
	required?: boolean;
}

/** A zod object schema for a field list (the node's "Output Fields" option). Throws on duplicate or empty names. */
export function schemaFromFields(
	fields: readonly OutputField[],
): z.ZodObject<Record<string, ZodType>> {
	const shape: Record<string, ZodType> = {};
	for (const field of fields) {
		const name = field.name.trim();
		if (!name) throw new Error('An output field has no name');
		if (name in shape) throw new Error(`Output field "${name}" is listed twice`);
		const base = {
			string: z.string(),
			number: z.number(),
			boolean: z.boolean(),
			object: z.record(z.unknown()),
			array: z.array(z.unknown()),
		}[field.type];
		if (!base) throw new Error(`Output field "${name}" has unknown type "${field.type}"`);
		const described = field.description ? base.describe(field.description) : base;
		shape[name] = field.required === false ? described.optional() : described;
	}
	return z.object(shape);
}

/** Zod issues as "path: message" lines ("(root)" for the whole value). */
export function describeIssues(issues: readonly ZodIssue[]): string[] {
	return issues.map(
		(issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`,
	);
}

/** The JSON value in a reply: the whole text, or the first ```json fenced block; undefined when none parses. */
export function extractJson(text: string): unknown {
	const candidates = [
		text.trim(),
		/```(?:json)?\s*([\s\S]*?)```/i.exec(text)?.[1]?.trim(),
		text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1),
	];
	for (const candidate of candidates) {
		if (!candidate) continue;
		try {
			return JSON.parse(candidate);
		} catch {
			// try the next form
		}
	}
	return undefined;
}

function checkOutput<T>(
	schema: OutputSchema<T>,
	text: string,
): { ok: true; value: T } | { ok: false; issues: string[] } {
	const json = extractJson(text);
	if (json === undefined) return { ok: false, issues: ['(root): the reply is not JSON'] };
	const parsed = schema.safeParse(json);
	return parsed.success
		? { ok: true, value: parsed.data }
		: { ok: false, issues: describeIssues(parsed.error.issues) };
}

/** The instruction that asks for JSON matching `schema` (its JSON Schema inlined). */
export function structuredInstruction(schema: ZodType): string {
	return `Reply with only a JSON value, no prose and no code fence, that matches this JSON Schema:\n${JSON.stringify(toJsonSchema(schema))}`;
}

type StructuredOptions = CallOptions & { usage?: UsageTracker; maxRepairs?: number };

/**
 * Validates `raw`, the model's last reply in `history`; while it does not match `schema`, sends the validation errors
 * back and asks again, up to `maxRepairs` times (default 1). Returns { value, raw, repairs }; throws
 * StructuredOutputError with the issues when the last reply is still invalid.
 */
export async function repairStructured<T>(
	model: InvokableChatModel,
	history: readonly BaseMessage[],
	raw: string,
	schema: OutputSchema<T>,
	options: StructuredOptions,
): Promise<{ value: T; raw: string; repairs: number }> {
	const messages = [...history];
	const maxRepairs = options.maxRepairs ?? 1;
	for (let repairs = 0; ; repairs++) {
		const checked = checkOutput(schema, raw);
		if (checked.ok) return { value: checked.value, raw, repairs };
		if (repairs >= maxRepairs) {
			throw new StructuredOutputError(
				`The model's output does not match the required format after ${repairs + 1} attempt(s): ${checked.issues.join('; ')}`,
				raw,
				checked.issues,
			);
		}
		messages.push(
			new HumanMessage(
				`Your reply does not match the required format:\n${checked.issues.map((i) => `- ${i}`).join('\n')}\nReply again with only the corrected JSON.`,
			),
		);
		const reply = await invokeChatModel(model, messages, options);
		messages.push(reply);
		raw = messageText(reply);
	}
}

/**
 * Asks for JSON matching `schema` (the instruction goes first, as a system message; a model built from the LLM API
 * credential also asks its provider natively, as `response_format`, where the provider has it), then validates and
 * repairs as repairStructured does.
 */
export async function invokeStructured<T>(
	model: InvokableChatModel,
	messages: BaseMessage[],
	schema: OutputSchema<T>,
	options: StructuredOptions,
): Promise<{ value: T; raw: string; repairs: number }> {
	const history: BaseMessage[] = [new SystemMessage(structuredInstruction(schema)), ...messages];
	return withStructuredOutput(toJsonSchema(schema), async () => {
		const reply = await invokeChatModel(model, history, options);
		return repairStructured(model, [...history, reply], messageText(reply), schema, options);
	});
}
