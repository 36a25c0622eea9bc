/**
 * The atomic commit as one Lua script (Redis runs a script with nothing interleaved).
 *
 * Layout: each store key is a hash {v: value bytes, g: generation}; each index a sorted
 * set with score 0 (so ZRANGEBYLEX orders members by bytes).
 *
 * Arguments: KEYS are the distinct Redis keys the commit touches; ARGV holds 4 fields
 * per op: code (p put, d delete, c check, i index, u unindex), the op's position in
 * KEYS (1-based), the expected generation (-1 for none) and the payload (value bytes
 * for a put, the member for index/unindex, '' otherwise).
 *
 * Reply: {1, g1, g2, …} with each op's resulting generation (0 for non-puts), or
 * {0, op0, actual0, op1, actual1, …} listing every failed check, 0-based, with nothing written.
 */
import type { WriteOp } from '../../ports/store.ts';

export const COMMIT_LUA = `
local n = #ARGV / 4
local bad = {0}
for i = 0, n - 1 do
  local exp = tonumber(ARGV[i * 4 + 3])
  if exp >= 0 then
    local g = tonumber(redis.call('HGET', KEYS[tonumber(ARGV[i * 4 + 2])], 'g') or 0)
    if g ~= exp then
      bad[#bad + 1] = i
      bad[#bad + 1] = g
    end
  end
end
if #bad > 1 then return bad end
local out = {1}
for i = 0, n - 1 do
  local code = ARGV[i * 4 + 1]
  local k = KEYS[tonumber(ARGV[i * 4 + 2])]
  local g = 0
  if code == 'p' then
    g = redis.call('HINCRBY', k, 'g', 1)
    redis.call('HSET', k, 'v', ARGV[i * 4 + 4])
  elseif code == 'd' then
    redis.call('DEL', k)
  elseif code == 'i' then
    redis.call('ZADD', k, 0, ARGV[i * 4 + 4])
  elseif code == 'u' then
    redis.call('ZREM', k, ARGV[i * 4 + 4])
  end
  out[#out + 1] = g
end
return out
`;

const CODES = { put: 'p', delete: 'd', check: 'c', index: 'i', unindex: 'u' } as const;

export interface KeyNames {
  data(key: string): string;
  index(name: string): string;
}

/** Turns ops into the script's KEYS and ARGV (values passed as Buffers, never copied). */
export function encodeCommit(
  ops: readonly WriteOp[],
  names: KeyNames,
): { keys: string[]; argv: (string | Buffer)[] } {
  const keys: string[] = [];
  const slot = new Map<string, number>();
  const slotOf = (redisKey: string): string => {
    let at = slot.get(redisKey);
    if (at === undefined) {
      keys.push(redisKey);
      at = keys.length;
      slot.set(redisKey, at);
    }
    return String(at);
  };
  const argv: (string | Buffer)[] = [];
  for (const op of ops) {
    if (op.op === 'index' || op.op === 'unindex') {
      argv.push(CODES[op.op], slotOf(names.index(op.index)), '-1', op.member);
      continue;
    }
    const expected = op.expectedGeneration === undefined ? '-1' : String(op.expectedGeneration);
    const payload =
      op.op === 'put' ? Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength) : '';
    argv.push(CODES[op.op], slotOf(names.data(op.key)), expected, payload);
  }
  return { keys, argv };
}
