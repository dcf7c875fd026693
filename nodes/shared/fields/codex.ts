/**
 * A node's codex (categories, subcategories, documentation link) has one source, its `<Node>.node.json`: n8n reads
 * that file for nodes loaded as custom extensions, and the description's `codex` for installed packages, so each node
 * imports its file into its description. Importing it also makes tsc (and so `n8n-node build`) put it in dist/.
 */
import type { CodexData } from 'n8n-workflow';

/** The codex file's shape (n8n's codex format 1.0). */
interface CodexFile {
	categories: string[];
	subcategories?: Record<string, string[]>;
	resources: { primaryDocumentation: Array<{ url: string }> };
}

export function nodeCodex({ categories, subcategories, resources }: CodexFile): CodexData {
	return { categories, ...(subcategories ? { subcategories } : {}), resources };
}
