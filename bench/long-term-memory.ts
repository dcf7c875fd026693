/**
 * Long-term memory (BENCH_ONLY=long-term-memory), on the shared Redis through the fact store the Agent and the Memory
 * node use (lib/memory/facts):
 * - recall@5 and superseded facts returned, over the hand-written conversations of bench/long-term-memory (SPEC.md):
 *   each user's scripted facts are stored session by session through Remember, Update and Forget (the offline
 *   stand-in model cannot extract facts, so learning is not measured here), then every question is recalled for its
 *   user (top 5). recall@5: needed facts whose current version is among the 5; hit@1: questions whose first fact
 *   is one they need (users hold 2–5 current facts, mean 3.1, so the top 5 is a low bar); superseded share: returned
 *   facts that are an older version or a forgotten fact. By keywords only, and with embeddings from the offline model server: the
 *   word-hashing stand-in and the semantic model (Universal Sentence Encoder Lite).
 * - tokens sent to the model for the question turn (cl100k_base, message contents): the system message with Recall
 *   Memories' section (top 5) and the question, vs the system message, every earlier turn of every session and the
 *   question (replaying the full history, which holds every needed fact, and every superseded one too); and from how
 *   many sessions of history (at the conversations' mean tokens per session) the replay sends 5 × as many.
 * - Remember and Recall latency (p50/p95, ms) in a tenant of BENCH_LTM_FACTS facts (default 100 000: 10 000 subjects
 *   × 10 facts), keyword + embedding ranking with the hashing embeddings computed in-process (the provider's
 *   embedding latency is not ours to measure); and in one subject of BENCH_LTM_SUBJECT_FACTS facts (default 1 000),
 *   as recall reads a subject's facts (its cost grows with the subject, not the tenant).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Redis from 'ioredis';
import { getEncoding } from 'js-tiktoken';

import { createEmbeddings, embedTexts } from '../lib/llm';
import { NoRetryPolicy } from '../lib/retry';
import { Memory, RedisMemoryStore, tenantPath } from '../lib/memory';
import { FACT_ACCESS, openFactMemory, type EmbedTexts, type FactMemory } from '../lib/memory/facts';
import { recallForPrompt } from '../lib/memory/facts/agent';
import { mapWithConcurrency } from '../lib/concurrency';
import { OfflineModelServer, offlineModelConfig } from '../stack/model-server';
import { embed as hashEmbed } from '../stack/model-server/embeddings';
import { SEMANTIC_EMBEDDING_MODEL } from '../stack/model-server/semantic-embeddings';
import { deleteKeys, redisFromEnv } from '../stack/services';
import { summary } from './stats';

type FactOp = ['remember' | 'update', string, string] | ['forget', string];

interface Conversation {
	user: string;
	sessions: Array<{ turns: Array<[string, string]>; facts: FactOp[] }>;
	questions: Array<{ q: string; needs: string[] }>;
}

const SYSTEM = 'You are the support agent of a software company. Answer the customer briefly.';

const conversations = (
	JSON.parse(readFileSync(join(__dirname, 'long-term-memory', 'conversations.json'), 'utf8')) as {
		users: Conversation[];
	}
).users;

/** Stores the user's facts as the sessions state them; returns the current ID per key and the outdated IDs. */
async function storeFacts(facts: FactMemory, conversation: Conversation) {
	const current = new Map<string, string>();
	const outdated = new Set<string>();
	for (const session of conversation.sessions)
		for (const op of session.facts) {
			const [kind, key] = op;
			const id = current.get(key);
			if (kind === 'remember')
				current.set(key, (await facts.remember(conversation.user, op[2])).id);
			else if (!id) throw new Error(`${conversation.user}: ${kind} of unknown fact "${key}"`);
			else if (kind === 'update') {
				current.set(key, (await facts.update(conversation.user, id, op[2])).id);
				outdated.add(id);
			} else {
				await facts.forget(conversation.user, id);
				current.delete(key);
				outdated.add(id);
			}
		}
	return { current, outdated };
}

const encoder = getEncoding('cl100k_base');
const tokens = (texts: string[]) =>
	texts.reduce((sum, text) => sum + encoder.encode(text).length, 0);

/** recall@5, superseded share and prompt tokens over every question, with `embed` (or keywords only). */
async function recallQuality(memory: Memory, tenant: string, embed?: EmbedTexts) {
	const facts = openFactMemory(memory, { tenant: tenantPath(tenant), ...(embed ? { embed } : {}) });
	let needed = 0;
	let found = 0;
	let first = 0;
	let returned = 0;
	let superseded = 0;
	const withRecall: number[] = [];
	const fullHistory: number[] = [];
	const questionOnly: number[] = [];
	const perSession: number[] = [];
	const misses: string[] = [];
	for (const conversation of conversations) {
		const { current, outdated } = await storeFacts(facts, conversation);
		const history = conversation.sessions.flatMap((s) => s.turns.flat());
		perSession.push(tokens(history) / conversation.sessions.length);
		for (const { q, needs } of conversation.questions) {
			const { section, ids } = await recallForPrompt(facts, conversation.user, q, 5);
			needed += needs.length;
			if (needs.some((key) => ids[0] === current.get(key))) first++;
			for (const key of needs) {
				if (ids.includes(current.get(key)!)) found++;
				else misses.push(`${conversation.user}: ${q}`);
			}
			returned += ids.length;
			superseded += ids.filter((id) => outdated.has(id)).length;
			withRecall.push(tokens([SYSTEM + section, q]));
			fullHistory.push(tokens([SYSTEM, ...history, q]));
			questionOnly.push(tokens([SYSTEM, q]));
		}
	}
	const mean = (values: number[]) => Math.round(values.reduce((s, v) => s + v, 0) / values.length);
	return {
		questions: withRecall.length,
		recallAt5: Math.round((found / needed) * 1000) / 1000,
		/** Questions whose first recalled fact is one they need. */
		hitAt1: Math.round((first / withRecall.length) * 1000) / 1000,
		supersededShare: returned ? Math.round((superseded / returned) * 1000) / 1000 : 0,
		tokensPerTurn: {
			recallMemories: mean(withRecall),
			fullHistory: mean(fullHistory),
			ratio: Math.round((mean(fullHistory) / mean(withRecall)) * 10) / 10,
			/** Mean tokens of one session's turns: what replaying the history adds per session. */
			historyPerSession: mean(perSession),
			/** Sessions of history from which replaying it sends ≥ 5 × the tokens of Recall Memories (from the means). */
			fiveTimesFromSessions: Math.ceil(
				(5 * mean(withRecall) - mean(questionOnly)) / mean(perSession),
			),
		},
		misses,
	};
}

/** Remember and Recall latency in a tenant of `total` facts (`perSubject` per subject), and the fill rate. */
async function latencyAtScale(memory: Memory, total: number, perSubject: number, rounds = 300) {
	const embed: EmbedTexts = async (texts) => texts.map((text) => hashEmbed(text));
	const facts = openFactMemory(memory, {
		tenant: tenantPath(`scale-${total}-${perSubject}`),
		embed,
	});
	const subjects = Math.ceil(total / perSubject);
	const text = (s: number, i: number) =>
		`Customer ${s} note ${i}: prefers ${['e-mail', 'phone', 'chat'][i % 3]} about ${['billing', 'outages', 'exports', 'seats'][i % 4]} topic ${i}`;
	const started = performance.now();
	await mapWithConcurrency(
		Array.from({ length: subjects }, (_, s) => s),
		32,
		async (s) => {
			for (let i = 0; i < perSubject && s * perSubject + i < total; i++)
				await facts.remember(`customer-${s}`, text(s, i));
		},
	);
	const fillSeconds = (performance.now() - started) / 1000;
	const remember: number[] = [];
	const recall: number[] = [];
	for (let r = 0; r < rounds; r++) {
		const subject = `customer-${Math.floor(Math.random() * subjects)}`;
		let t = performance.now();
		await facts.remember(subject, `Round ${r}: the customer asked about invoices in EUR`);
		remember.push(performance.now() - t);
		t = performance.now();
		await facts.recall({
			subject,
			query: 'how does the customer want to hear about outages',
			topK: 5,
		});
		recall.push(performance.now() - t);
	}
	return {
		facts: total,
		subjects,
		factsPerSubject: perSubject,
		fillFactsPerSecond: Math.round(total / fillSeconds),
		rememberMs: summary(remember),
		recallMs: summary(recall),
	};
}

export async function longTermMemory() {
	const prefix = `openagents-bench-ltm-${randomBytes(4).toString('hex')}`;
	const redis = new Redis({ host: '127.0.0.1', port: 6379 });
	const memory = new Memory({ store: new RedisMemoryStore(redis, prefix), policy: FACT_ACCESS });
	const server = new OfflineModelServer();
	await server.start();
	const viaServer =
		(model?: string): EmbedTexts =>
		async (texts) =>
			(
				await embedTexts(
					createEmbeddings(offlineModelConfig(server, model ? { embeddingModel: model } : {})),
					texts,
					{ policy: new NoRetryPolicy() },
				)
			).vectors;
	try {
		const quality = {
			keywords: await recallQuality(memory, 'quality-keywords'),
			hashingEmbeddings: await recallQuality(memory, 'quality-hashing', viaServer()),
			semanticEmbeddings: await recallQuality(
				memory,
				'quality-semantic',
				viaServer(SEMANTIC_EMBEDDING_MODEL),
			),
		};
		const scale = {
			tenant: await latencyAtScale(memory, Number(process.env.BENCH_LTM_FACTS ?? 100_000), 10),
			largeSubject: await latencyAtScale(
				memory,
				Number(process.env.BENCH_LTM_SUBJECT_FACTS ?? 1_000),
				Number(process.env.BENCH_LTM_SUBJECT_FACTS ?? 1_000),
				100,
			),
		};
		return {
			conversations: conversations.length,
			sessions: conversations.reduce((n, c) => n + c.sessions.length, 0),
			...quality,
			...scale,
		};
	} finally {
		await server.stop();
		await deleteKeys(redisFromEnv(), `${prefix}:*`);
		redis.disconnect();
	}
}
