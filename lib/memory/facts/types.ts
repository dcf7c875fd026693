/**
 * Long-term memory: facts about a subject (a user ID, a customer, an account), kept across conversations and
 * workflows inside one tenant, recalled by keywords and, with an embedding model, by meaning.
 *
 * Isolation: a FactMemory is opened for one tenant (the credential's, see tenantPath) and every call names the
 * subject; a fact ID reaches only the facts of the subject it is given with, so neither an ID nor a subject can
 * address another subject's or tenant's facts. Errors are MemoryError (lib/memory/errors.ts):
 * - invalid_address: an empty subject, or one longer than 1024 characters or with an unpaired surrogate;
 * - invalid_value: empty fact text or query, text over 10 000 characters, metadata that is not flat
 *   (string | number | boolean values), topK not a whole number 1…100, an embedding model answering no usable
 *   vector (a fact embedded at another size, by another model, scores 0 by meaning and is ranked by its keywords);
 * - not_found: update or confirm of an ID that is no current fact of the subject (never stored, forgotten, or
 *   already superseded);
 * - store_timeout, store_unavailable: the store failed after the retry policy of the Memory it runs on.
 */

/** Where a fact came from. */
export interface FactProvenance {
	/** The n8n workflow that stored it. */
	workflowId?: string;
	/** The n8n execution that stored it. */
	executionId?: string;
	/** The conversation message it was taken from (e.g. a chat message ID). */
	messageId?: string;
	/** `remember`: stored on purpose (Memory node, the remember tool); `learned`: extracted from a conversation. */
	source: 'remember' | 'learned';
}

/** Flat metadata of a fact, filtered on by equality in recall. */
export type FactMetadata = Record<string, string | number | boolean>;

/** One stored fact. Times are ISO 8601 UTC strings. */
export interface Fact {
	/** Unique within the tenant (a random UUID); stable for the life of the fact. */
	id: string;
	subject: string;
	text: string;
	metadata: FactMetadata;
	/** When this text was stored. */
	createdAt: string;
	/** When the fact was last stated or confirmed (= createdAt until confirm() or an identical remember()). */
	confirmedAt: string;
	provenance: FactProvenance;
	/** IDs of the facts this one replaced through update(), newest first (kept as history, see FactMemory.update). */
	supersedes?: string[];
	/** Set on a fact kept as history: the ID of the fact that replaced it. Such a fact is never recalled. */
	supersededBy?: string;
}

/** A recalled fact with its relevance. */
export interface RecalledFact extends Fact {
	/**
	 * Higher is more relevant; comparable only within one recall. Keyword-only: the BM25 score; with embeddings:
	 * the convex combination of the normalised BM25 and cosine scores, 0…1 (keyword weight FACT_KEYWORD_WEIGHT, 0.7).
	 */
	score: number;
}

export interface RecallQuery {
	subject: string;
	/** What the facts are needed for: a question, the user's message. */
	query: string;
	/** How many facts at most, 1…100 (default 5). */
	topK?: number;
	/** Only facts whose metadata has every one of these key/value pairs (strict equality). */
	metadata?: FactMetadata;
}

export interface RememberOptions {
	metadata?: FactMetadata;
	/** Default: `{ source: 'remember' }`. */
	provenance?: FactProvenance;
}

/** Long-term memory of one tenant (the tenant comes from the credential, never from the workflow). */
export interface FactMemory {
	/**
	 * Stores a fact about `subject`. A current fact of the subject with the same text (compared trimmed, case and
	 * whitespace folded) and metadata is confirmed instead (its confirmedAt moves to now) and returned: remembering
	 * twice stores once.
	 */
	remember(subject: string, text: string, options?: RememberOptions): Promise<Fact>;
	/**
	 * Replaces a fact's text: a new fact (new ID, same metadata unless given, `supersedes` = [id, ...its own]) is
	 * stored, and the old one is KEPT AS HISTORY with `supersededBy` set: never recalled, listed only with
	 * `includeHistory`, removed by forget() of the new fact (its whole chain) and by forgetSubject().
	 * Throws not_found when `id` is no current fact of `subject`, so two concurrent updates of one fact cannot both win.
	 */
	update(
		subject: string,
		id: string,
		text: string,
		options?: { metadata?: FactMetadata; provenance?: FactProvenance },
	): Promise<Fact>;
	/** The subject's current facts most relevant to the query, best first; at most topK. */
	recall(query: RecallQuery): Promise<RecalledFact[]>;
	/** Marks a fact as stated again now (confirmedAt). Throws not_found. */
	confirm(subject: string, id: string): Promise<Fact>;
	/**
	 * Removes a fact, its embedding and the history it superseded from the store. Returns how many stored facts were
	 * removed (0 when there was none with this ID for this subject).
	 */
	forget(subject: string, id: string): Promise<number>;
	/** Removes every fact about the subject, history included (erasure on request). Returns how many were removed. */
	forgetSubject(subject: string): Promise<number>;
	/** The subject's facts in ID order, a page at a time (limit 1…1000, default 100). */
	list(
		subject: string,
		options?: { limit?: number; cursor?: string; includeHistory?: boolean },
	): Promise<{ facts: Fact[]; nextCursor?: string }>;
}

/** Embeds texts: one vector per text, in order, all of one size. */
export type EmbedTexts = (texts: string[]) => Promise<number[][]>;

export interface FactMemoryOptions {
	/**
	 * The tenant's namespace part, as the node builds it from the credential (tenantPath(credentialTenant,
	 * isolationKey)). Facts live in an internal scope of it that the Memory node's Get, Set, List Keys and Delete
	 * cannot address.
	 */
	tenant: string;
	/**
	 * Embedding model for recall by meaning. Without it recall is keyword-only (BM25), and facts are stored without
	 * vectors; facts stored without a vector take part in recall by keywords only.
	 */
	embed?: EmbedTexts;
	/**
	 * Embeds recall queries, for models that embed queries differently from documents (task prefixes such as
	 * e5's "query: "); default `embed`.
	 */
	embedQuery?: EmbedTexts;
}
