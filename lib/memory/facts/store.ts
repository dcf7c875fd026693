import { randomUUID } from 'node:crypto';

import { MemoryError, VersionConflictError } from '../errors';
import type { Memory } from '../memory';
import { internalNamespace, type Namespace } from '../scope';
import { rankFacts } from './rank';
import type {
	EmbedTexts,
	Fact,
	FactMemory,
	FactMemoryOptions,
	FactMetadata,
	FactProvenance,
	RecallQuery,
	RecalledFact,
	RememberOptions,
} from './types';
import {
	checkMetadata,
	checkText,
	checkTopK,
	matchesMetadata,
	sameFactText,
	sameMetadata,
} from './validate';
import { decodeVector, encodeVector } from '../../vectors';

/** A fact as stored: with its embedding (see vectors.ts) when an embedding model was configured. */
interface StoredFact extends Fact {
	vector?: string;
}

/** Every fact is one value under this prefix in its subject's namespace; the namespace holds nothing else. */
const FACT_PREFIX = 'fact/';
/** Reads of one subject's facts in flight at once (they pipeline on one Redis connection, spread over the pg pool). */
const READ_CONCURRENCY = 64;
/** Compare-and-set attempts of confirm/update before a concurrent writer is reported as a conflict. */
const CAS_ATTEMPTS = 3;

function notFound(subject: string, id: string): MemoryError {
	return new MemoryError(
		`No current fact with ID "${id}" about subject "${subject}" (never stored, forgotten, or superseded)`,
		'not_found',
	);
}

/** The fact without its stored embedding. */
function publicFact({ vector: _vector, ...fact }: StoredFact): Fact {
	return fact;
}

function checkProvenance(provenance: FactProvenance | undefined): FactProvenance {
	const result = provenance ?? { source: 'remember' };
	if (result.source !== 'remember' && result.source !== 'learned')
		throw new MemoryError(
			`Provenance source must be "remember" or "learned", got ${String(result.source)}`,
			'invalid_value',
		);
	return result;
}

/**
 * Facts in a Memory (see FactMemory for the contract). Layout: one internal `facts` namespace per subject
 * (internalNamespace(tenant, 'facts', subject)), every fact one value at `fact/<id>` holding its text, metadata,
 * times, provenance and embedding; the namespace's key listing is the subject's index. So isolation is the store's
 * namespace isolation, forgetting a fact is one delete that takes its embedding with it, and no other operation of
 * the Memory node can address a fact. Recall and remember read the subject's facts (O(facts of the subject), read
 * concurrently); facts of other subjects cost nothing.
 */
class StoredFacts implements FactMemory {
	constructor(
		private readonly memory: Memory,
		private readonly tenant: string,
		private readonly embed?: EmbedTexts,
		private readonly embedQuery: EmbedTexts | undefined = embed,
	) {}

	/** The subject's namespace; the subject is trimmed (" alice" is "alice"). Throws invalid_address. */
	private ns(subject: string): Namespace {
		if (typeof subject !== 'string' || !subject.trim())
			throw new MemoryError('The subject must be non-empty text', 'invalid_address');
		return internalNamespace(this.tenant, 'facts', subject.trim());
	}

	private async read(ns: Namespace, id: string) {
		const stored = await this.memory.get(ns, FACT_PREFIX + id);
		return stored && { fact: stored.value as unknown as StoredFact, version: stored.version };
	}

	private async write(ns: Namespace, fact: StoredFact, ifVersion?: number): Promise<void> {
		await this.memory.set(ns, FACT_PREFIX + fact.id, fact, { ifVersion });
	}

	/** Every stored fact of the namespace, history included, in ID order. */
	private async readAll(ns: Namespace): Promise<StoredFact[]> {
		const keys: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await this.memory.list(ns, { prefix: FACT_PREFIX, limit: 1000, cursor });
			keys.push(...page.keys);
			cursor = page.nextCursor;
		} while (cursor);
		const facts: StoredFact[] = [];
		for (let i = 0; i < keys.length; i += READ_CONCURRENCY) {
			const values = await Promise.all(
				keys.slice(i, i + READ_CONCURRENCY).map((key) => this.memory.get(ns, key)),
			);
			// A fact forgotten between the listing and the read is simply absent.
			for (const stored of values) if (stored) facts.push(stored.value as unknown as StoredFact);
		}
		return facts;
	}

	/** A new fact of `ns`, created and confirmed now, with its embedding when the store has an embedding model. */
	private async newFact(
		ns: Namespace,
		text: string,
		metadata: FactMetadata,
		provenance: FactProvenance,
		supersedes?: string[],
	): Promise<StoredFact> {
		const vector = await this.embedOne(text);
		const now = new Date().toISOString();
		return {
			id: randomUUID(),
			subject: ns.scopeId,
			text,
			metadata,
			createdAt: now,
			confirmedAt: now,
			provenance,
			...(supersedes && { supersedes }),
			...(vector && { vector: encodeVector(vector) }),
		};
	}

	private async embedOne(text: string, embed = this.embed): Promise<number[] | undefined> {
		if (!embed) return undefined;
		const [vector] = await embed([text]);
		if (!Array.isArray(vector) || !vector.length || !vector.every(Number.isFinite))
			throw new MemoryError(
				'The embedding model returned no usable vector for the text',
				'invalid_value',
			);
		return vector;
	}

	/** Reads a current fact, changes it and writes it back by compare-and-set, retrying when another writer won. */
	private async change(
		ns: Namespace,
		subject: string,
		id: string,
		edit: (fact: StoredFact) => Promise<StoredFact> | StoredFact,
	): Promise<{ before: StoredFact; after: StoredFact }> {
		for (let attempt = 1; ; attempt++) {
			const current = await this.read(ns, id);
			if (!current || current.fact.supersededBy) throw notFound(subject, id);
			const after = await edit(current.fact);
			try {
				await this.write(ns, after, current.version);
				return { before: current.fact, after };
			} catch (error) {
				if (!(error instanceof VersionConflictError) || attempt >= CAS_ATTEMPTS) throw error;
			}
		}
	}

	async remember(subject: string, text: string, options: RememberOptions = {}): Promise<Fact> {
		const ns = this.ns(subject);
		const factText = checkText(text);
		const metadata = checkMetadata(options.metadata);
		const provenance = checkProvenance(options.provenance);
		const same = (await this.readAll(ns)).find(
			(fact) =>
				!fact.supersededBy &&
				sameFactText(fact.text, factText) &&
				sameMetadata(fact.metadata, metadata),
		);
		if (same) return this.confirm(subject, same.id);
		const fact = await this.newFact(ns, factText, metadata, provenance);
		await this.write(ns, fact, 0);
		return publicFact(fact);
	}

	async update(
		subject: string,
		id: string,
		text: string,
		options: { metadata?: FactMetadata; provenance?: FactProvenance } = {},
	): Promise<Fact> {
		const ns = this.ns(subject);
		const factText = checkText(text);
		const provenance = checkProvenance(options.provenance);
		const current = await this.read(ns, id);
		if (!current || current.fact.supersededBy) throw notFound(subject, id);
		const next = await this.newFact(
			ns,
			factText,
			options.metadata === undefined ? current.fact.metadata : checkMetadata(options.metadata),
			provenance,
			[id, ...(current.fact.supersedes ?? [])],
		);
		// The new fact first: a failure between the two writes leaves both current, never the text lost.
		await this.write(ns, next, 0);
		try {
			// History keeps no embedding: it is never recalled.
			await this.change(ns, subject, id, ({ vector: _vector, ...old }) => ({
				...old,
				supersededBy: next.id,
			}));
		} catch (error) {
			// Another update superseded (or a forget removed) the old fact first: this one did not happen.
			await this.memory.delete(ns, FACT_PREFIX + next.id);
			throw error;
		}
		return publicFact(next);
	}

	async recall(query: RecallQuery): Promise<RecalledFact[]> {
		const ns = this.ns(query.subject);
		const queryText = checkText(query.query, 'The query');
		const topK = checkTopK(query.topK);
		const filter = checkMetadata(query.metadata);
		const facts = (await this.readAll(ns)).filter(
			(fact) => !fact.supersededBy && matchesMetadata(fact.metadata, filter),
		);
		if (!facts.length) return [];
		const queryVector = await this.embedOne(queryText, this.embedQuery);
		const byId = new Map(facts.map((fact) => [fact.id, fact]));
		const ranked = rankFacts(
			facts.map((fact) => ({
				id: fact.id,
				text: fact.text,
				vector: fact.vector === undefined ? undefined : decodeVector(fact.vector),
			})),
			queryText,
			topK,
			queryVector,
		);
		return ranked.map(({ id, score }) => ({
			...publicFact(byId.get(id) as StoredFact),
			score,
		}));
	}

	async confirm(subject: string, id: string): Promise<Fact> {
		const { after } = await this.change(this.ns(subject), subject, id, (fact) => ({
			...fact,
			confirmedAt: new Date().toISOString(),
		}));
		return publicFact(after);
	}

	async forget(subject: string, id: string): Promise<number> {
		const ns = this.ns(subject);
		if (typeof id !== 'string' || !id)
			throw new MemoryError('The fact ID must be non-empty text', 'invalid_value');
		const current = await this.read(ns, id);
		if (!current) return 0;
		let removed = 0;
		for (const key of [id, ...(current.fact.supersedes ?? [])])
			if (await this.memory.delete(ns, FACT_PREFIX + key)) removed++;
		return removed;
	}

	async forgetSubject(subject: string): Promise<number> {
		const ns = this.ns(subject);
		let removed = 0;
		// Listed from the start each round: deleting while paging with a cursor would be safe too, but this also
		// catches facts written while the erasure runs.
		for (;;) {
			const { keys } = await this.memory.list(ns, { prefix: FACT_PREFIX, limit: 1000 });
			if (!keys.length) return removed;
			const deleted = await Promise.all(keys.map((key) => this.memory.delete(ns, key)));
			removed += deleted.filter(Boolean).length;
		}
	}

	async list(
		subject: string,
		options: { limit?: number; cursor?: string; includeHistory?: boolean } = {},
	): Promise<{ facts: Fact[]; nextCursor?: string }> {
		const ns = this.ns(subject);
		const { limit = 100, cursor, includeHistory = false } = options;
		if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
			throw new MemoryError(
				`The limit must be a whole number from 1 to 1000, got ${limit}`,
				'invalid_value',
			);
		const page = await this.memory.list(ns, { prefix: FACT_PREFIX, limit, cursor });
		const values = await Promise.all(page.keys.map((key) => this.memory.get(ns, key)));
		const facts = values
			.map((stored) => stored?.value as unknown as StoredFact | undefined)
			.filter((fact): fact is StoredFact => !!fact && (includeHistory || !fact.supersededBy))
			.map(publicFact);
		return page.nextCursor ? { facts, nextCursor: page.nextCursor } : { facts };
	}
}

/**
 * Long-term memory of one tenant over `memory` (its retry policy, store timeout and cancel signal apply to every
 * store call; its access policy must allow FACT_ACCESS). See FactMemory and StoredFacts.
 */
export function openFactMemory(memory: Memory, options: FactMemoryOptions): FactMemory {
	return new StoredFacts(
		memory,
		options.tenant,
		options.embed,
		options.embedQuery ?? options.embed,
	);
}
