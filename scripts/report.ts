/** How `npm start` prints the flagship flow's report (the Report node of examples/03-plan-and-research.json). */
export interface ResearchReport {
	question: string;
	answer: string;
	citations: Array<{ n: number; source: string; headingPath?: string }>;
	plan: Array<{
		id: string;
		title: string;
		agent: string;
		wave: number;
		status: string;
		resumed?: boolean;
		durationMs: number;
	}>;
	planStatus: string;
	usage: { totalTokens: number; modelCalls: number };
}

export function printResearch(report: ResearchReport, say: (line: string) => void): void {
	say('');
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
	say('  Citations:');
	for (const c of report.citations)
		say(`    [${c.n}] ${c.source}${c.headingPath ? ` § ${c.headingPath}` : ''}`);
	say('');
	say(
		`  Token usage: ${report.usage.totalTokens} tokens in ${report.usage.modelCalls} model calls`,
	);
}
