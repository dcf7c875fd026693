/**
 * How `npm start` prints the flagship flow's answer: the Report node of examples/03-plan-and-research.json, or its
 * Clarification Needed node when the Planner asked questions instead of planning.
 */
export type ResearchResponse = ResearchReport | ClarificationRequest;

export interface ClarificationRequest {
	question: string;
	needsClarification: true;
	questions: string[];
}

export interface ResearchReport {
	question: string;
	answer: string;
	citations: Array<{ n: number; source: string; headingPath?: string; page?: number }>;
	passagesRetrieved: number;
	plan: Array<{
		id: string;
		title: string;
		agent: string;
		wave: number;
		status: string;
		resumed?: boolean;
		/** Numbers of the passages the task retrieved. */
		passages: number[];
		durationMs: number;
	}>;
	planStatus: string;
	usage: { totalTokens: number; modelCalls: number };
}

export function printResearch(response: ResearchResponse, say: (line: string) => void): void {
	say('');
	if ('needsClarification' in response) {
		say('  The Planner needs clarification before it can plan (Needs Clarification output):');
		for (const question of response.questions) say(`    - ${question}`);
		say('  Ask again with a more specific question (OPENAGENTS_QUESTION).');
		return;
	}
	const report = response;
	say(`  Plan (${report.plan.length} tasks, ${report.planStatus}):`);
	for (const task of report.plan) {
		say(
			`    wave ${task.wave}  ${task.id.padEnd(12)} ${task.agent.padEnd(11)} ${task.status.padEnd(9)} ${String(task.durationMs).padStart(6)} ms${task.resumed ? '  (resumed)' : ''}  ${task.title}`,
		);
	}
	say('');
	say('  Answer:');
	for (const line of report.answer.split('\n')) say(`    ${line}`);
	say('');
	say(`  Citations (of ${report.passagesRetrieved} passages the tasks retrieved):`);
	for (const c of report.citations)
		say(`    [${c.n}] ${c.source}${c.headingPath ? ` § ${c.headingPath}` : ''}`);
	say('');
	say(
		`  Token usage: ${report.usage.totalTokens} tokens in ${report.usage.modelCalls} model calls`,
	);
}
