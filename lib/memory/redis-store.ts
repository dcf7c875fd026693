import type Redis from 'ioredis';

import { MemoryError, VersionConflictError } from './errors';
import { encodeComponent, namespaceId } from './keys';
import type { Namespace } from './scope';
import {
	APPEND_REQUEST_TTL_MS,
	pageSize,
	type ListOptions,
	type ListPage,
	type AppendMessagesOptions,
	type MemoryStore,
	type SetOptions,
	type StoredValue,
} from './store';
import type { JsonValue } from './values';

/*
 * Layout: each key is a hash `<prefix>:kv:<namespace id>:<encoded key>` with fields v (JSON text), ver (version)
 * and n (list length, -1 when the value is not a list); each namespace has a sorted set `<prefix>:ix:<namespace id>`
 * of its keys (score 0, so ordered by bytes), which makes listing ordered, paged and confined to the namespace.
 * A conversation is a list `<prefix>:cv:<namespace id>:<encoded key>`, one JSON message per element.
 * An append with a request ID leaves a marker `<prefix>:rq:<request id>` (expiring after APPEND_REQUEST_TTL_MS) in
 * the same script, so the append runs at most once however often it is sent.
 * Writes are Lua scripts, so each is atomic under any number of concurrent workers. Expired hashes leave index
 * entries behind; list() removes them as it meets them.
 */

const SET = `
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= ver then return {0, ver} end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ver + 1, 'n', ARGV[5])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('PERSIST', KEYS[1]) end
redis.call('ZADD', KEYS[2], 0, ARGV[4])
return {1, ver + 1}`;

const INCREMENT = `
local v = redis.call('HGET', KEYS[1], 'v')
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
local current = 0
if v then
  current = tonumber(v)
  if current == nil or string.sub(v, 1, 1) == '"' then return redis.error_reply('OA_WRONGTYPE number') end
end
local value = current + tonumber(ARGV[1])
if value ~= value or value == math.huge or value == -math.huge then return redis.error_reply('OA_WRONGTYPE overflow') end
local text = string.format('%.17g', value)
redis.call('HSET', KEYS[1], 'v', text, 'ver', ver + 1, 'n', '-1')
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('ZADD', KEYS[2], 0, ARGV[3])
return {text, ver + 1}`;

const APPEND = `
local v = redis.call('HGET', KEYS[1], 'v')
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if v and n < 0 then return redis.error_reply('OA_WRONGTYPE list') end
local value
if (not v) or n == 0 then value = '[' .. ARGV[1] .. ']' else value = string.sub(v, 1, -2) .. ',' .. ARGV[1] .. ']' end
n = n + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'v', value, 'ver', ver + 1, 'n', n)
if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('ZADD', KEYS[2], 0, ARGV[4])
return {n, ver + 1}`;

const DELETE = `
local existed = redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return existed`;

/*
 * KEYS[1]: the conversation's list; KEYS[2]: the request's marker ('' without a request ID); ARGV[1]: TTL ms ('' keeps
 * the expiry); ARGV[2]: max stored ('' no cap); ARGV[3]: the marker's TTL ms; ARGV[4..]: messages. A marker that
 * exists means this request ran: the list is left as it is. Trimming follows messagesToTrim (conversation.ts): cut
 * where a turn starts, never inside the latest turn.
 * Only the head of the list is read (LINDEX from the front), so an append costs O(messages removed), not O(length).
 */
const APPEND_MESSAGES = `
if KEYS[2] ~= '' and not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then
  return redis.call('LLEN', KEYS[1])
end
for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
local len = redis.call('LLEN', KEYS[1])
local max = tonumber(ARGV[2])
if max and len > max then
  local function starts(i)
    local ok, m = pcall(cjson.decode, redis.call('LINDEX', KEYS[1], i))
    return ok and type(m) == 'table' and (m.role == 'user' or m.role == 'system')
  end
  local cut = 0
  for i = len - max, len - 1 do if starts(i) then cut = i break end end
  if cut == 0 then for i = len - max - 1, 1, -1 do if starts(i) then cut = i break end end end
  if cut > 0 then redis.call('LTRIM', KEYS[1], cut, -1) len = len - cut end
end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return len`;

type Scripts = {
	oaSet(
		hash: string,
		index: string,
		json: string,
		ttl: string,
		ifVersion: string,
		member: string,
		length: string,
	): Promise<[number, number]>;
	oaIncrement(
		hash: string,
		index: string,
		by: string,
		ttl: string,
		member: string,
	): Promise<[string, number]>;
	oaAppend(
		hash: string,
		index: string,
		items: string,
		count: string,
		ttl: string,
		member: string,
	): Promise<[number, number]>;
	oaDelete(hash: string, index: string, conversation: string, member: string): Promise<number>;
	oaAppendMessages(
		list: string,
		marker: string,
		ttl: string,
		max: string,
		markerTtl: string,
		...messages: string[]
	): Promise<number>;
};

function wrongType(error: unknown, key: string): never {
	const message = (error as Error).message ?? '';
	if (message.includes('OA_WRONGTYPE number'))
		throw new MemoryError(`"${key}" does not hold a number`, 'wrong_type');
	if (message.includes('OA_WRONGTYPE list'))
		throw new MemoryError(`"${key}" does not hold a list`, 'wrong_type');
	if (message.includes('OA_WRONGTYPE overflow'))
		throw new MemoryError(`Incrementing "${key}" overflows a number`, 'wrong_type');
	throw error;
}

const ttlArg = (ttlMs?: number) =>
	ttlMs === undefined ? '' : String(Math.max(1, Math.round(ttlMs)));

/** "Redis host:port" (and "/db" for a database other than 0), or "Redis <socket path>": the server, for messages. */
export function redisAddress(o: {
	host?: string;
	port?: number;
	db?: number;
	path?: string | null;
}) {
	const where = o.path ? o.path : `${o.host ?? 'localhost'}:${o.port ?? 6379}`;
	return `Redis ${where}${o.db ? `/${o.db}` : ''}`;
}

/** Memory in Redis (ioredis client). prefix: the credential's key prefix; every key this store touches starts with it. */
export class RedisMemoryStore implements MemoryStore {
	readonly kind = 'redis' as const;

	/** The server, from the client's options (see redisAddress). */
	readonly address: string;

	private readonly redis: Redis & Scripts;

	constructor(
		redis: Redis,
		private readonly prefix: string,
		private readonly ownsClient = false,
	) {
		if (!prefix) throw new MemoryError('A Redis key prefix is required', 'invalid_address');
		this.address = redisAddress(redis.options);
		redis.defineCommand('oaSet', { numberOfKeys: 2, lua: SET });
		redis.defineCommand('oaIncrement', { numberOfKeys: 2, lua: INCREMENT });
		redis.defineCommand('oaAppend', { numberOfKeys: 2, lua: APPEND });
		redis.defineCommand('oaDelete', { numberOfKeys: 3, lua: DELETE });
		redis.defineCommand('oaAppendMessages', { numberOfKeys: 2, lua: APPEND_MESSAGES });
		this.redis = redis as Redis & Scripts;
	}

	private keys(ns: Namespace, key?: string) {
		const id = namespaceId(ns);
		return {
			hash: key === undefined ? '' : `${this.prefix}:kv:${id}:${encodeComponent(key)}`,
			conversation: key === undefined ? '' : `${this.prefix}:cv:${id}:${encodeComponent(key)}`,
			index: `${this.prefix}:ix:${id}`,
		};
	}

	async get(ns: Namespace, key: string): Promise<StoredValue | undefined> {
		const [json, version] = await this.redis.hmget(this.keys(ns, key).hash, 'v', 'ver');
		return json === null
			? undefined
			: { value: JSON.parse(json) as JsonValue, version: Number(version) };
	}

	async set(ns: Namespace, key: string, json: string, options: SetOptions = {}): Promise<number> {
		const { hash, index } = this.keys(ns, key);
		const length = json.startsWith('[') ? String((JSON.parse(json) as unknown[]).length) : '-1';
		const ifVersion = options.ifVersion === undefined ? '' : String(options.ifVersion);
		const [ok, version] = await this.redis.oaSet(
			hash,
			index,
			json,
			ttlArg(options.ttlMs),
			ifVersion,
			key,
			length,
		);
		if (!ok) throw new VersionConflictError(key, options.ifVersion!, version);
		return version;
	}

	async delete(ns: Namespace, key: string): Promise<boolean> {
		const { hash, index, conversation } = this.keys(ns, key);
		return (await this.redis.oaDelete(hash, index, conversation, key)) > 0;
	}

	async appendMessages(
		ns: Namespace,
		key: string,
		messagesJson: string[],
		options: AppendMessagesOptions = {},
	): Promise<{ length: number }> {
		const max = options.maxStored === undefined ? '' : String(options.maxStored);
		const { requestId } = options;
		const length = await this.redis.oaAppendMessages(
			this.keys(ns, key).conversation,
			requestId ? `${this.prefix}:rq:${encodeComponent(requestId)}` : '',
			ttlArg(options.ttlMs),
			max,
			String(APPEND_REQUEST_TTL_MS),
			...messagesJson,
		);
		return { length };
	}

	async readMessages(ns: Namespace, key: string, limit?: number): Promise<JsonValue[]> {
		const texts = await this.redis.lrange(
			this.keys(ns, key).conversation,
			limit === undefined ? 0 : -limit,
			-1,
		);
		return texts.map((t) => JSON.parse(t) as JsonValue);
	}

	async list(ns: Namespace, options: ListOptions = {}): Promise<ListPage> {
		const { index } = this.keys(ns);
		const limit = pageSize(options.limit);
		const prefix = options.prefix ?? '';
		const max = prefix
			? Buffer.concat([Buffer.from(`[${prefix}`, 'utf8'), Buffer.from([0xff])])
			: '+';
		let min: string =
			options.cursor !== undefined ? `(${options.cursor}` : prefix ? `[${prefix}` : '-';
		const keys: string[] = [];
		// Fetch one key more than the page to know whether another page follows; skip index entries whose hash expired.
		while (keys.length <= limit) {
			const want = limit + 1 - keys.length;
			const batch = await this.redis.zrangebylex(index, min, max, 'LIMIT', 0, want);
			if (!batch.length) break;
			const exists =
				(await this.redis.pipeline(batch.map((k) => ['exists', this.keys(ns, k).hash])).exec()) ??
				[];
			const expired = batch.filter((_, i) => exists[i]?.[1] === 0);
			if (expired.length) await this.redis.zrem(index, ...expired);
			keys.push(...batch.filter((_, i) => exists[i]?.[1] === 1));
			min = `(${batch[batch.length - 1]}`;
			if (batch.length < want) break;
		}
		const more = keys.length > limit;
		if (more) keys.length = limit;
		return more ? { keys, nextCursor: keys[keys.length - 1] } : { keys };
	}

	async increment(ns: Namespace, key: string, by: number, ttlMs?: number): Promise<StoredValue> {
		const { hash, index } = this.keys(ns, key);
		try {
			const [text, version] = await this.redis.oaIncrement(
				hash,
				index,
				String(by),
				ttlArg(ttlMs),
				key,
			);
			return { value: Number(text), version };
		} catch (error) {
			return wrongType(error, key);
		}
	}

	async append(
		ns: Namespace,
		key: string,
		itemsJson: string[],
		ttlMs?: number,
	): Promise<{ length: number; version: number }> {
		const { hash, index } = this.keys(ns, key);
		try {
			const [length, version] = await this.redis.oaAppend(
				hash,
				index,
				itemsJson.join(','),
				String(itemsJson.length),
				ttlArg(ttlMs),
				key,
			);
			return { length, version };
		} catch (error) {
			return wrongType(error, key);
		}
	}

	async close(): Promise<void> {
		// Not QUIT: it would wait behind a command that timed out (the server may be holding it); every call of ours
		// has settled by now, so nothing is lost by closing the socket at once.
		if (this.ownsClient) this.redis.disconnect();
	}
}
