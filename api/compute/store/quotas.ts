/** Per-project quota limits in the Store: only the limits set for a project are kept. */
import { commitWithRetry } from './commit.ts';
import type { ComputeRecords } from './records.ts';

export class QuotaStore {
  constructor(private readonly rec: ComputeRecords) {}

  /** The limits set for `projectId` (empty when none). */
  async get(projectId: string): Promise<Readonly<Record<string, number>>> {
    return (await this.rec.quotas.get(projectId))?.value.limits ?? {};
  }

  /** Merges `limits` into the project's; one conditional put, retried on a concurrent change. */
  async set(
    projectId: string,
    limits: Readonly<Record<string, number>>,
  ): Promise<Readonly<Record<string, number>>> {
    return commitWithRetry(this.rec, `set quotas of ${projectId}`, async () => {
      const cur = await this.rec.quotas.get(projectId);
      const merged = { ...(cur?.value.limits ?? {}), ...limits };
      return {
        ops: [this.rec.quotas.put(projectId, { limits: merged }, cur?.generation ?? 0)],
        result: merged,
      };
    });
  }

  /** Back to the defaults. */
  async reset(projectId: string): Promise<void> {
    await this.rec.store.commit([this.rec.quotas.delete(projectId)]);
  }
}
