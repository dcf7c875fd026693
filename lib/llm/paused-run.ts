/**
 * A paused agent run as plain JSON, so it can wait in n8n's execution data (saved to the database while the
 * execution waits for a reviewer) and continue in another process. Messages use LangChain's stored-message form.
 */
import {
	mapChatMessagesToStoredMessages,
	mapStoredMessagesToChatMessages,
	type StoredMessage,
} from '@langchain/core/messages';

import type { AgentResult } from './agent';

/** An AgentResult with its messages in LangChain's StoredMessage form (JSON-safe). */
export type SavedAgentRun = Omit<AgentResult, 'messages'> & { messages: StoredMessage[] };

/** JSON-safe copy of a paused run (status 'awaiting_approval'). */
export function savePausedRun(result: AgentResult): SavedAgentRun {
	return JSON.parse(
		JSON.stringify({ ...result, messages: mapChatMessagesToStoredMessages(result.messages) }),
	) as SavedAgentRun;
}

/** The run saved by savePausedRun, ready for runAgent's `resume.paused`. */
export function restorePausedRun(saved: SavedAgentRun): AgentResult {
	return { ...saved, messages: mapStoredMessagesToChatMessages(saved.messages) };
}
