/** The benchmark's requests, as engine input and as Placement's query string. */
import type { RequestGroup } from '../../core/placement/candidates.ts';

export interface BenchQuery {
  readonly group: RequestGroup;
  readonly limit: number;
}

/** The typical three-class request; nested fleets add a VGPU from a T4 child. */
export function queryFor(nested: boolean): BenchQuery {
  const resources: Record<string, number> = { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 40 };
  if (!nested) return { group: { resources }, limit: 1000 };
  return { group: { resources: { ...resources, VGPU: 1 }, required: [['CUSTOM_VGPU_T4']] }, limit: 1000 };
}

export function queryString(q: BenchQuery): string {
  const res = Object.entries(q.group.resources)
    .map(([rc, n]) => `${rc}:${n}`)
    .join(',');
  const required = (q.group.required ?? []).map(
    (anyOf) => `&required=${anyOf.length > 1 ? `in:${anyOf.join(',')}` : anyOf[0]}`,
  );
  return `resources=${res}${required.join('')}&limit=${q.limit}`;
}
