/**
 * runConversationTurn's last step: the turn saved to memory. A save that fails does not lose the answer (the model
 * call is paid for): the outcome says `memory: { saved: false, code, error }`.
 */
import { AIMessage, type BaseMessage } from '@langchain/core/messages';

import { runConversationTurn } from '../../../lib/llm';
import { MemoryError } from '../../../lib/memory';
import { NoRetryPolicy } from '../../../lib/retry';

const model = { invoke: async () => new AIMessage('The answer.') };

/** A chat memory with no history whose saveTurn does `save`. */
const memoryThat = (save: (messages: BaseMessage[]) => Promise<void>) => ({
	loadMemoryVariables: async () => ({ chat_history: [] }),
	saveContext: async () => undefined,
	saveTurn: save,
});

const turn = (memory?: ReturnType<typeof memoryThat>, signal?: AbortSignal) =>
	runConversationTurn({
		model,
		tools: [],
		agentOptions: { policy: new NoRetryPolicy(), signal },
		callOptions: { policy: new NoRetryPolicy() },
		system: 'Be brief.',
		prompt: 'Hello',
		memory,
	});

describe('runConversationTurn saving to memory', () => {
	it('says the turn was saved', async () => {
		const saved: BaseMessage[][] = [];
		const outcome = await turn(memoryThat(async (messages) => void saved.push(messages)));
		expect(outcome).toMatchObject({ output: 'The answer.', memory: { saved: true } });
		expect(saved[0].map((m) => m.getType())).toEqual(['human', 'ai']);
	});

	it('has no memory field without a memory', async () => {
		expect(await turn()).not.toHaveProperty('memory');
	});

	it("returns the answer when the save fails, with the store's code and message (through n8n's wrapper)", async () => {
		const failure = new MemoryError(
			'The memory store (Redis 127.0.0.1:6390) could not be reached (1 attempt): Reached the max retries per request limit (which is 2).',
			'store_unavailable',
		);
		const outcome = await turn(
			memoryThat(async () => {
				// What n8n's recordCall throws: its own error, the MemoryError as the cause, its message reworded.
				throw new Error('The service refused the connection - perhaps it is offline', {
					cause: failure,
				});
			}),
		);
		expect(outcome).toMatchObject({
			status: 'completed',
			output: 'The answer.',
			memory: { saved: false, code: 'store_unavailable', error: failure.message },
		});
	});

	it("classifies another memory's store error the same way", async () => {
		const outcome = await turn(
			memoryThat(async () => {
				throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
					code: 'ECONNREFUSED',
				});
			}),
		);
		expect(outcome).toMatchObject({
			memory: {
				saved: false,
				code: 'store_unavailable',
				error: 'connect ECONNREFUSED 127.0.0.1:6379',
			},
		});
	});

	it('still ends the turn when the execution is cancelled', async () => {
		const controller = new AbortController();
		const cancelled = turn(
			memoryThat(async () => {
				controller.abort();
				throw Object.assign(new Error('aborted'), { name: 'AbortError' });
			}),
			controller.signal,
		);
		await expect(cancelled).rejects.toThrow('aborted');
	});
});
