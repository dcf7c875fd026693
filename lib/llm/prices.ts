/**
 * What model calls cost: a price per million tokens for input, cached input and output, looked up by model name.
 * The defaults are OpenAI's published standard-tier prices; users override or add models (local models, other
 * providers, negotiated prices) on the credential.
 */
import { z } from 'zod';

/** Prices per million tokens, in the table's currency. */
interface ModelPrice {
	input: number;
	output: number;
	/** Input tokens the provider served from its prompt cache; default: the input price. */
	cachedInput?: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The date the default prices were read from https://openai.com/api/pricing (standard tier, USD). */
export const DEFAULT_PRICES_AS_OF = '2025-08-07';

export const DEFAULT_CURRENCY = 'USD';

/** OpenAI standard-tier prices in USD per million tokens, as of DEFAULT_PRICES_AS_OF. */
export const DEFAULT_PRICES: PriceTable = {
	'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
	'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
	'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
	'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
	'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
	'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
	'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
	'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
	o3: { input: 2, cachedInput: 0.5, output: 8 },
	'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
	'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
	'text-embedding-3-small': { input: 0.02, output: 0 },
	'text-embedding-3-large': { input: 0.13, output: 0 },
	'text-embedding-ada-002': { input: 0.1, output: 0 },
};

const priceSchema = z
	.object({
		input: z.number().min(0),
		output: z.number().min(0),
		cachedInput: z.number().min(0).optional(),
	})
	.strict();

/**
 * A price table from user JSON ({ "<model>": { "input": n, "output": n, "cachedInput"?: n } }, per million tokens).
 * Throws Error listing every problem with its model and field.
 */
export function parsePriceTable(json: unknown): PriceTable {
	const value = typeof json === 'string' ? (json.trim() ? JSON.parse(json) : {}) : (json ?? {});
	const parsed = z.record(z.string().min(1), priceSchema).safeParse(value);
	if (!parsed.success)
		throw new Error(
			`Invalid model prices: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
		);
	return parsed.data;
}

/**
 * The price of `model` in `table` (default: DEFAULT_PRICES), or undefined. Matches the exact name, else the longest
 * name the model is a dated or suffixed version of ("gpt-4o-mini-2024-07-18" → "gpt-4o-mini"); a provider prefix
 * ("openai/gpt-4o") is ignored.
 */
export function priceOf(
	model: string | undefined,
	table: PriceTable = DEFAULT_PRICES,
): ModelPrice | undefined {
	if (!model) return undefined;
	for (const name of [model, model.slice(model.lastIndexOf('/') + 1)]) {
		if (table[name]) return table[name];
		const base = Object.keys(table)
			.filter((key) => name.startsWith(`${key}-`))
			.sort((a, b) => b.length - a.length)[0];
		if (base) return table[base];
	}
	return undefined;
}

/** Cost of one call in the table's currency: uncached input, cached input and output tokens at their prices. */
export function costOf(
	price: ModelPrice,
	tokens: { input: number; output: number; cachedInput?: number },
): number {
	const cached = Math.min(tokens.cachedInput ?? 0, tokens.input);
	return (
		((tokens.input - cached) * price.input +
			cached * (price.cachedInput ?? price.input) +
			tokens.output * price.output) /
		1_000_000
	);
}
