/** The DeepSeek profile's memory of the reasoning behind its tool calls: checked on the way back, and bounded. */
import { deepseekProfile } from '../../../stack/model-server/profiles/deepseek';
import type { ProfileMemory } from '../../../stack/model-server/profiles/types';
import type { ChatRequest } from '../../../stack/model-server/types';

const newMemory = (): ProfileMemory => ({ reasoningOfToolCall: new Map(), seenPrompts: new Set() });
const call = (id: string) => ({
	id,
	type: 'function' as const,
	function: { name: 'lookup', arguments: '{}' },
});
/** A request replaying the assistant turn that made tool call `id`, without its reasoning. */
const replayWithoutReasoning = (id: string) =>
	({
		model: 'deepseek-v4-flash',
		messages: [
			{ role: 'user', content: 'look it up' },
			{ role: 'assistant', content: '', tool_calls: [call(id)] },
			{ role: 'tool', tool_call_id: id, content: 'found' },
		],
	}) as unknown as ChatRequest;

it('refuses a tool-call turn sent back without the reasoning it was made with', () => {
	const memory = newMemory();
	deepseekProfile.remember({ content: '', reasoning: 'think' }, [call('c1')], memory);
	expect(deepseekProfile.refuseChat(replayWithoutReasoning('c1'), memory)?.status).toBe(400);
	expect(deepseekProfile.refuseChat(replayWithoutReasoning('other'), memory)).toBeUndefined();
});

it('forgets old tool calls past 1 000, so a long-running server does not grow without bound', () => {
	const memory = newMemory();
	for (let i = 0; i < 5_000; i++)
		deepseekProfile.remember({ content: '', reasoning: 'think' }, [call(`c${i}`)], memory);
	expect(memory.reasoningOfToolCall.size).toBeLessThanOrEqual(1_001);
	expect(memory.reasoningOfToolCall.has('c4999')).toBe(true);
	expect(deepseekProfile.refuseChat(replayWithoutReasoning('c0'), memory)).toBeUndefined();
});
