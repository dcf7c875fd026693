import { z } from 'zod';

import type { RandomSource } from './random';

/** The serialised form of a policy: its registered `type` plus its own fields. */
export interface RetryPolicyJSON {
	type: string;
	[field: string]: unknown;
}

/** Thrown for an invalid policy configuration or an unknown serialised `type`. */
export class RetryPolicyError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'RetryPolicyError';
	}
}

type PolicyFactory = (json: RetryPolicyJSON, random?: RandomSource) => RetryPolicy;

const registry = new Map<string, PolicyFactory>();

/** Largest delay any policy accepts: one day, in milliseconds. */
const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

export const delayMs = (name: string) =>
	z
		.number({ invalid_type_error: `${name} must be a number of milliseconds` })
		.finite()
		.min(0, `${name} must be ≥ 0 ms`)
		.max(MAX_DELAY_MS, `${name} must be ≤ ${MAX_DELAY_MS} ms (one day)`);
export const maxRetriesSchema = z
	.number()
	.int('maxRetries must be a whole number')
	.min(0, 'maxRetries must be ≥ 0')
	.max(100, 'maxRetries must be ≤ 100');
export const jitterSchema = z
	.number()
	.finite()
	.min(0, 'jitter must be between 0 and 1')
	.max(1, 'jitter must be between 0 and 1');

/** Parses `value` with `schema`, turning zod's issues into one RetryPolicyError naming each field. */
export function parseConfig<S extends z.ZodTypeAny>(
	policy: string,
	schema: S,
	value: unknown,
): z.output<S> {
	const result = schema.safeParse(value);
	if (result.success) return result.data;
	const problems = result.error.issues.map((i) =>
		i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
	);
	throw new RetryPolicyError(`Invalid ${policy} configuration: ${problems.join('; ')}`);
}

/**
 * When and how often to retry a failed call. Subclasses define the delay before each retry.
 * Register a subclass with `RetryPolicy.register(type, factory)` so that `RetryPolicy.fromJSON` can rebuild it.
 */
export abstract class RetryPolicy {
	/** Registered type name, written as `type` by toJSON(). */
	abstract readonly type: string;

	/** Retries after the first attempt (0 = try once). */
	abstract readonly maxRetries: number;

	/**
	 * Delay before retry number `attempt` (1-based: 1 is the first retry), in milliseconds, ≥ 0.
	 * Jittered policies draw a new value on every call.
	 */
	abstract getRetryDelay(attempt: number): number;

	abstract toJSON(): RetryPolicyJSON;

	/** Makes `type` known to fromJSON(). A later registration of the same type replaces the earlier one. */
	static register(type: string, factory: PolicyFactory): void {
		registry.set(type, factory);
	}

	static registeredTypes(): string[] {
		return [...registry.keys()];
	}

	/**
	 * Rebuilds a policy from toJSON() output. random: optional source for jitter (tests seed it).
	 * Throws RetryPolicyError for a missing or unknown `type` and for invalid fields.
	 */
	static fromJSON(json: unknown, random?: RandomSource): RetryPolicy {
		if (!json || typeof json !== 'object' || typeof (json as RetryPolicyJSON).type !== 'string') {
			throw new RetryPolicyError(
				'A serialised retry policy must be an object with a string "type"',
			);
		}
		const factory = registry.get((json as RetryPolicyJSON).type);
		if (!factory) {
			throw new RetryPolicyError(
				`Unknown retry policy type "${(json as RetryPolicyJSON).type}" (known: ${RetryPolicy.registeredTypes().join(', ')})`,
			);
		}
		return factory(json as RetryPolicyJSON, random);
	}
}

/** Subtractive jitter: a value drawn uniformly from [base·(1 − jitter), base]. jitter = 1 is AWS's "full jitter". */
export function applyJitter(base: number, jitter: number, random: RandomSource): number {
	return base * (1 - jitter * random());
}

export function assertAttempt(attempt: number): void {
	if (!Number.isInteger(attempt) || attempt < 1)
		throw new RetryPolicyError(`attempt must be a whole number ≥ 1, got ${attempt}`);
}
