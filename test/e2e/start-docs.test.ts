/**
 * `OPENAGENTS_DOCS=<folder> npm start` as a user runs it on a folder of their own outside the repository: files of
 * several formats and one the Knowledge Base cannot read. The folder is ingested (n8n may read it: its file access
 * follows the variable, else Read Files from Disk would refuse a folder outside node_modules), the unreadable file is
 * named with its reason, and the flagship answers citing only that folder's files. Started again after one file
 * changed, it embeds that file's chunk only.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ChromaKnowledgeStore, citationNumbers } from '../../lib/rag';
import { NoRetryPolicy } from '../../lib/retry';
import { N8nClient } from '../../stack/n8n/client';
import type { ManagedProcess } from '../../stack/process';
import { startNpmStart } from '../support/npm-start';
import { makePdf } from '../support/pdf';

const stateDir = mkdtempSync(join(tmpdir(), 'openagents-start-docs-'));
const docs = mkdtempSync(join(tmpdir(), 'openagents-my-docs-'));
let stack: ManagedProcess;

afterAll(async () => {
	await stack?.stop('SIGKILL', 1000);
	rmSync(stateDir, { recursive: true, force: true });
	rmSync(docs, { recursive: true, force: true });
});

/** A Set node's parameters (example 1's Settings). */
type Settings = { assignments: { assignments: Array<{ name: string; value: unknown }> } };

/** The folder's files the Knowledge Base reads, by their source ID (the path in the folder). */
const READABLE = ['faq.html', 'guide/install.md', 'manual.pdf', 'notes.txt'];

function writeDocs() {
	mkdirSync(join(docs, 'guide'));
	writeFileSync(
		join(docs, 'guide', 'install.md'),
		'# Installing Quillmate\n\nRun `qm setup --tenant acme`. Setup writes its configuration to qm.toml and listens on port 7431.\n',
	);
	writeFileSync(
		join(docs, 'faq.html'),
		'<html><body><main><h1>Quillmate FAQ</h1><p>Quillmate backups run nightly at 02:30 and are kept for 45 days.</p></main></body></html>',
	);
	writeFileSync(
		join(docs, 'notes.txt'),
		'Release notes: Quillmate 3.2 adds tenant quotas and a read-only mode for auditors.\n',
	);
	writeFileSync(
		join(docs, 'manual.pdf'),
		makePdf([['Quillmate manual: the dashboard shows each tenant and its storage quota.']]),
	);
	writeFileSync(join(docs, 'broken.pdf'), '%PDF-1.4 this file was cut off in transfer');
	writeFileSync(join(docs, 'logo.png'), Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
}

it('ingests a folder of your own, names the file it cannot read, and answers from the folder with citations', async () => {
	writeDocs();
	stack = await startNpmStart(stateDir, {
		OPENAGENTS_DOCS: docs,
		OPENAGENTS_QUESTION: 'How long are Quillmate backups kept?',
	});
	const output = stack.tail(200);

	// Five files of formats the Knowledge Base reads (the .png is not one): four ingested, the broken PDF named.
	expect(output).toMatch(/ingesting the 5 documents in .*openagents-my-docs-/);
	expect(output).toMatch(/5 documents, \d+ chunks: \d+ added, 0 unchanged, 0 removed, 1 failed/);
	expect(output).toMatch(/failed: .*Document "broken\.pdf" is not a readable PDF/);
	const chromaUrl = output.match(/Chroma:\s+(http:\/\/\S+)/)![1];
	const kb = await new ChromaKnowledgeStore(
		{ url: chromaUrl },
		{ policy: new NoRetryPolicy() },
	).open('my-docs');
	expect([...(await kb.sourceCounts()).keys()].sort()).toEqual(READABLE);

	// The answer cites passages of the folder's files only, among them the FAQ that holds the answer.
	const answer = output.slice(output.indexOf('Answer:'), output.indexOf('Citations'));
	const citationsBlock = output.slice(output.indexOf('Citations'), output.indexOf('Token usage'));
	const listed = [...citationsBlock.matchAll(/^\[openagents\]\s+\[(\d+)\] (\S+)/gm)].map((m) => ({
		n: Number(m[1]),
		source: m[2],
	}));
	expect(listed.length).toBeGreaterThan(0);
	expect(citationNumbers(answer).sort()).toEqual(listed.map((c) => c.n).sort());
	for (const { source } of listed) expect(READABLE).toContain(source);
	expect(listed.map((c) => c.source)).toContain('faq.html');

	// Example 1's Settings read that folder, and the examples that search search its knowledge base.
	const editor = output.match(/Editor:\s+(http:\/\/\S+)/)![1];
	const login = output.match(/Login:\s+(\S+) \/ (\S+)/)!;
	const client = await N8nClient.bootstrap(editor, {
		email: login[1],
		password: login[2],
		firstName: 'x',
		lastName: 'y',
	});
	const workflows = await client.api<{
		data: Array<{ name: string; nodes: Array<{ name: string; parameters: Settings }> }>;
	}>('GET', '/workflows');
	const byNumber = (n: number) =>
		workflows.data.find((w) => w.name.startsWith(`OpenAgents example ${n}:`))!;
	const settings = byNumber(1).nodes.find((n) => n.name === 'Settings')!;
	expect(settings.parameters.assignments.assignments).toEqual(
		expect.arrayContaining([
			expect.objectContaining({ name: 'folder', value: docs }),
			expect.objectContaining({ name: 'knowledgeBase', value: 'my-docs' }),
		]),
	);
	for (const n of [2, 3, 8, 9]) {
		const searched = JSON.stringify(byNumber(n).nodes);
		expect(searched).toContain('"my-docs"');
		expect(searched).not.toContain('npm-readmes');
	}

	await stack.stop('SIGINT', 60_000);
	expect(await stack.exited).toBe(0);

	// Re-running embeds only what changed: one file edited, its old chunk removed, every other chunk left as it was.
	const chunks = Number(/5 documents, (\d+) chunks/.exec(output)![1]);
	writeFileSync(join(docs, 'notes.txt'), 'Release notes: Quillmate 3.3 adds audit exports.\n');
	stack = await startNpmStart(stateDir, {
		OPENAGENTS_DOCS: docs,
		OPENAGENTS_QUESTION: 'What does Quillmate 3.3 add?',
	});
	expect(stack.tail(200)).toContain(
		`5 documents, ${chunks} chunks: 1 added, ${chunks - 1} unchanged, 1 removed, 1 failed`,
	);
	await stack.stop('SIGINT', 60_000);
	expect(await stack.exited).toBe(0);
}, 720_000);
