/**
 * Research passages: what a plan's tasks retrieved from knowledge bases, numbered once across all tasks, so that
 * the synthesis can cite them as [n] and every citation is checked against what was actually retrieved.
 */

/** A retrieved passage (a knowledge-base chunk) as a task saw it. */
export interface ResearchPassage {
	source: string;
	/** Markdown headings around the passage, e.g. "Install > Linux"; '' when none. */
	headingPath: string;
	/** PDF page, when known. */
	page?: number;
	text: string;
	/** The retrieval score it came with, when known. */
	score?: number;
}

export interface NumberedPassage extends ResearchPassage {
	/** Its number across the whole plan run, from 1. */
	n: number;
}

function passageOf(item: unknown): ResearchPassage | undefined {
	if (!item || typeof item !== 'object') return undefined;
	const o = item as Record<string, unknown>;
	if (typeof o.text !== 'string' || typeof o.source !== 'string' || !o.text.trim())
		return undefined;
	return {
		source: o.source,
		headingPath: typeof o.headingPath === 'string' ? o.headingPath : '',
		...(typeof o.page === 'number' ? { page: o.page } : {}),
		text: o.text,
		...(typeof o.score === 'number' ? { score: o.score } : {}),
	};
}

/**
 * The passages in a tool's output: the knowledge-base search tool's JSON `{ results: [{ source, headingPath,
 * page?, score, text }] }`, also inside n8n's `[{ response }]` envelope of a tool run as a node. Any other output
 * (another tool, an error text) has none.
 */
export function passagesInToolOutput(output: unknown): ResearchPassage[] {
	let value = output;
	if (typeof value === 'string') {
		try {
			value = JSON.parse(value);
		} catch {
			return [];
		}
	}
	if (Array.isArray(value))
		return value.flatMap((item) =>
			passagesInToolOutput((item as { response?: unknown })?.response),
		);
	const results = (value as { results?: unknown } | null)?.results;
	return Array.isArray(results) ? results.flatMap((r) => passageOf(r) ?? []) : [];
}

/** Numbers passages in the order they are added; the same passage (source and text) keeps its first number. */
export class PassageCatalog {
	private readonly byKey = new Map<string, NumberedPassage>();

	/** Adds passages; returns their numbers, in the order given. */
	add(passages: readonly ResearchPassage[]): number[] {
		return passages.map((passage) => {
			const key = `${passage.source}\u0000${passage.text}`;
			let numbered = this.byKey.get(key);
			if (!numbered) {
				numbered = { n: this.byKey.size + 1, ...passage };
				this.byKey.set(key, numbered);
			}
			return numbered.n;
		});
	}

	/** Every passage, by number. */
	get all(): NumberedPassage[] {
		return [...this.byKey.values()];
	}
}
