/**
 * The table the fault-injection tests fill: one row per fault (what was broken, which node met it, how the node
 * ended, how long that took, what reading the data afterwards showed). With OPENAGENTS_FAULT_TABLE=1 the rows
 * replace the suite's block in the README's "Fault tolerance" section, between
 * `<!-- fault-table:<suite> -->` and `<!-- /fault-table:<suite> -->`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FaultRow {
	fault: string;
	node: string;
	/** How the node ended: the per-item error code, or what it did instead of failing. */
	outcome: string;
	/** From the start of the node's run to its outcome, ms. */
	ms: number;
	/** What reading the data afterwards showed. */
	dataCheck: string;
}

/** 0.04 s reads as "40 ms", 1 234 ms as "1.2 s". */
const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

const README = join(__dirname, '..', '..', 'README.md');

export class FaultTable {
	private readonly rows: FaultRow[] = [];

	constructor(private readonly suite: string) {}

	/** Runs `fn`, returning its result and the milliseconds it took. */
	static async timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
		const started = performance.now();
		const value = await fn();
		return { value, ms: Math.round(performance.now() - started) };
	}

	record(row: FaultRow): void {
		this.rows.push(row);
	}

	markdown(): string {
		const cell = (text: string) => text.replaceAll('|', '\\|');
		return [
			'| fault | node | outcome | time to outcome | data check |',
			'|---|---|---|---|---|',
			...this.rows.map((r) =>
				[r.fault, r.node, r.outcome, duration(r.ms), r.dataCheck]
					.map(cell)
					.join(' | ')
					.replace(/^/, '| ')
					.replace(/$/, ' |'),
			),
		].join('\n');
	}

	/** Writes the rows into the README block when OPENAGENTS_FAULT_TABLE=1; throws when the block is missing. */
	writeIfAsked(): void {
		if (process.env.OPENAGENTS_FAULT_TABLE !== '1' || !this.rows.length) return;
		const start = `<!-- fault-table:${this.suite} -->`;
		const end = `<!-- /fault-table:${this.suite} -->`;
		const text = readFileSync(README, 'utf8');
		const from = text.indexOf(start);
		const to = text.indexOf(end);
		if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
		writeFileSync(
			README,
			`${text.slice(0, from + start.length)}\n${this.markdown()}\n${text.slice(to)}`,
		);
	}
}
