/**
 * Server groups in the Store: one record each (members inside), an ordered index of all groups
 * and one per project (members `<seq>\0<uuid>`: creation order, Nova's listing order). Creating a
 * group checks the project's `server_groups` quota against the project index in the same commit
 * that adds to it (a generation check on a per-project counter), so two racing creates cannot
 * both take the last slot. `addMembers`/`removeMembers` are for the later POST /servers.
 */
import { randomUUID } from 'node:crypto';
import { CellplaneError } from '../../../core/errors.ts';
import type { WriteOp } from '../../../core/ports/store.ts';
import { commitWithRetry, nextValue } from './commit.ts';
import { type ComputeRecords, pad, type ServerGroupRecord } from './records.ts';

/** Members read per index page. */
export const SERVER_GROUP_PAGE = 500;
const ALL = 'compute.server-groups';
const byProject = (p: string) => `compute.server-groups.project.${p}`;
const memberOf = (g: ServerGroupRecord) => `${pad(g.seq)}\u0000${g.uuid}`;
const uuidOf = (m: string) => m.slice(m.indexOf('\u0000') + 1);

export const groupNotFound = (id: string) =>
  new CellplaneError('notFound', `Instance group ${id} could not be found.`);

export type NewServerGroup = Pick<ServerGroupRecord, 'name' | 'policy' | 'rules' | 'projectId' | 'userId'>;

export class ServerGroupStore {
  constructor(
    private readonly rec: ComputeRecords,
    private readonly now: () => Date,
    private readonly newUuid: () => string = randomUUID,
  ) {}

  async get(uuid: string): Promise<ServerGroupRecord | undefined> {
    return (await this.rec.serverGroups.get(uuid))?.value;
  }

  async require(uuid: string): Promise<ServerGroupRecord> {
    const g = await this.get(uuid);
    if (!g) throw groupNotFound(uuid);
    return g;
  }

  countForProject(projectId: string): Promise<number> {
    return this.rec.store.count(byProject(projectId));
  }

  /**
   * Creates a group unless the project already holds `limit` of them (-1 = unlimited): then
   * `overQuota` is thrown as given. The per-project counter key serialises concurrent creates.
   */
  create(input: NewServerGroup, limit: number, overQuota: () => Error): Promise<ServerGroupRecord> {
    return commitWithRetry(this.rec, 'create server group', async () => {
      const gate = await this.rec.counters.get(`server-groups.${input.projectId}`);
      if (limit >= 0 && (await this.countForProject(input.projectId)) + 1 > limit) throw overQuota();
      const seq = await nextValue(this.rec, 'server-group');
      const g: ServerGroupRecord = {
        ...input,
        seq: seq.value,
        uuid: this.newUuid(),
        members: [],
        createdAt: this.now().toISOString(),
      };
      const ops: WriteOp[] = [
        seq.op,
        this.rec.counters.put(
          `server-groups.${input.projectId}`,
          { value: (gate?.value.value ?? 0) + 1 },
          gate?.generation ?? 0,
        ),
        this.rec.serverGroups.put(g.uuid, g, 0),
        { op: 'index', index: ALL, member: memberOf(g) },
        { op: 'index', index: byProject(g.projectId), member: memberOf(g) },
      ];
      return { ops, result: g };
    });
  }

  delete(uuid: string): Promise<void> {
    return commitWithRetry(this.rec, `delete server group ${uuid}`, async () => {
      const cur = await this.rec.serverGroups.get(uuid);
      if (!cur) throw groupNotFound(uuid);
      const ops: WriteOp[] = [
        this.rec.serverGroups.delete(uuid, cur.generation),
        { op: 'unindex', index: ALL, member: memberOf(cur.value) },
        { op: 'unindex', index: byProject(cur.value.projectId), member: memberOf(cur.value) },
      ];
      return { ops, result: undefined };
    });
  }

  /** Adds instances (idempotent for ones already in); `notFound` when the group is gone. */
  addMembers(uuid: string, instances: readonly string[]): Promise<ServerGroupRecord> {
    return this.change(uuid, (g) => ({
      ...g,
      members: [...g.members, ...instances.filter((i) => !g.members.includes(i))],
    }));
  }

  removeMembers(uuid: string, instances: readonly string[]): Promise<ServerGroupRecord> {
    return this.change(uuid, (g) => ({ ...g, members: g.members.filter((m) => !instances.includes(m)) }));
  }

  private change(uuid: string, fn: (g: ServerGroupRecord) => ServerGroupRecord): Promise<ServerGroupRecord> {
    return commitWithRetry(this.rec, `update server group ${uuid}`, async () => {
      const cur = await this.rec.serverGroups.get(uuid);
      if (!cur) throw groupNotFound(uuid);
      const next = fn(cur.value);
      return { ops: [this.rec.serverGroups.put(uuid, next, cur.generation)], result: next };
    });
  }

  /** Groups of one project (or all), in creation order, skipping `offset`, at most `limit`. */
  async list(projectId: string | undefined, offset: number, limit: number): Promise<ServerGroupRecord[]> {
    const index = projectId === undefined ? ALL : byProject(projectId);
    const uuids: string[] = [];
    let skip = offset;
    let after: string | undefined;
    while (uuids.length < limit) {
      const page = await this.rec.store.list(index, {
        limit: SERVER_GROUP_PAGE,
        ...(after ? { after } : {}),
      });
      for (const m of page.members) {
        if (skip > 0) skip--;
        else if (uuids.length < limit) uuids.push(uuidOf(m));
      }
      if (page.next === undefined) break;
      after = page.next;
    }
    return (await this.rec.serverGroups.getMany(uuids)).flatMap((g) => (g ? [g.value] : []));
  }
}
