import type { AccessPolicy } from '../access';

export type {
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
export { openFactMemory } from './store';

/** The access the Memory a FactMemory runs on needs: the internal facts scope only. */
export const FACT_ACCESS: AccessPolicy = {
	read: ['facts'],
	write: ['facts'],
	requireTenant: false,
};
