/** Memory get/set as LangChain tools, for the Agent's built-in tools: the agent reads and writes keys in one namespace. */
import { DynamicStructuredTool } from '@langchain/core/tools';

import type { Memory } from './memory';
import type { Namespace } from './scope';

/**
 * `memory_get` { key } → the stored JSON value or "not found"; `memory_set` { key, value } → "stored (version n)".
 * Store errors are returned to the model as text by the agent loop, like any failing tool.
 */
export function memoryTools(memory: Memory, ns: Namespace): DynamicStructuredTool[] {
	return [
		new DynamicStructuredTool({
			name: 'memory_get',
			description: 'Read a value you or earlier runs stored in long-term memory. Input: the key.',
			schema: {
				type: 'object',
				properties: { key: { type: 'string', description: 'The key to read' } },
				required: ['key'],
				additionalProperties: false,
			},
			func: async ({ key }: { key: string }) => {
				const stored = await memory.get(ns, key);
				return stored === undefined
					? `No value is stored under "${key}"`
					: JSON.stringify({ key, value: stored.value, version: stored.version });
			},
		}),
		new DynamicStructuredTool({
			name: 'memory_set',
			description:
				'Store a value in long-term memory under a key, replacing any earlier value. Input: the key and the value (any JSON).',
			schema: {
				type: 'object',
				properties: {
					key: { type: 'string', description: 'The key to write' },
					value: { description: 'The value to store: text, number, object or list' },
				},
				required: ['key', 'value'],
				additionalProperties: false,
			},
			func: async ({ key, value }: { key: string; value: unknown }) =>
				`Stored "${key}" (version ${(await memory.set(ns, key, value)).version})`,
		}),
	];
}
