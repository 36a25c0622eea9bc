/**
 * How a cell's hosts are split among its scheduler shards: by a stable hash of the root
 * provider's uuid, so every process (shard leaders, the router, tests) computes the same owner
 * without asking anybody, and a host keeps its shard for life.
 *
 *   shardOf(root, shardCount) = fnv1a32(canonical lowercase dashed uuid) mod shardCount
 *
 * FNV-1a 32-bit (core/rng.ts `hashString`) is fixed here on purpose: changing it moves hosts
 * between shards, which every running process must agree on. The uuid is canonicalised first,
 * so `ABC…` and `abc…` (or the undashed form) land in the same shard. Changing `shardCount`
 * re-partitions a cell (most hosts move): it is a cell-wide reconfiguration, not a hot change.
 */
import { CellplaneError } from '../core/errors.ts';
import { parseUuid } from '../core/model/ids.ts';
import { hashString } from '../core/rng.ts';

/** Most shards one cell may be split into. */
export const MAX_SHARDS_PER_CELL = 1024;

export function checkShard(shard: number, shardCount: number): void {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARDS_PER_CELL)
    throw new CellplaneError(
      'invalid',
      `shardCount must be an integer in 1..${MAX_SHARDS_PER_CELL}, got ${shardCount}`,
    );
  if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount)
    throw new CellplaneError('invalid', `shard must be an integer in 0..${shardCount - 1}, got ${shard}`);
}

/** The shard (0..shardCount-1) that owns the host whose root provider is `root`. */
export function shardOf(root: string, shardCount: number): number {
  checkShard(0, shardCount);
  return hashString(parseUuid(root, 'root provider uuid')) % shardCount;
}
