/** Helpers for node descriptions. */
import type { INodeProperties } from 'n8n-workflow';

/** Collection options in alphabetical order of their display names, as n8n shows options. */
export function sortedByName(options: INodeProperties[]): INodeProperties[] {
	return [...options].sort((a, b) => a.displayName.localeCompare(b.displayName));
}
