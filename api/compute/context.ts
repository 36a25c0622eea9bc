/** What every compute route plugin gets: the store, the host directory, usage and the quota ledger, and frozen config. */
import type { ExtraSpecValidation } from '../../core/model/extra-specs.ts';
import { badRequest, notFound } from './errors.ts';
import type { HostDirectory } from './hosts.ts';
import type { UsageSource } from './quota.ts';
import type { QuotaLedger } from './quota-ledger.ts';
import type { ComputeStore } from './store/index.ts';

export interface ComputeContext {
  readonly store: ComputeStore;
  readonly hosts: HostDirectory;
  readonly usage: UsageSource;
  /** Per-project usage kept at the API layer: POST /servers reserves here, never in the cells. */
  readonly quota: QuotaLedger;
  /** Default limit per quota resource (Nova's [quota] options). */
  readonly quotaDefaults: Readonly<Record<string, number>>;
  /** Zone of compute hosts in no zoned aggregate (Nova's default_availability_zone). */
  readonly defaultZone: string;
  /** Zone of non-compute services (Nova's internal_service_availability_zone). */
  readonly internalZone: string;
  /** Largest page (Nova's [api] max_limit). */
  readonly maxLimit: number;
  /** Base of links in responses; default: the request's scheme and Host. */
  readonly publicUrl: string | undefined;
  /** Whether a flavor's extra specs are checked when set (`strict`) or stored as given (`lenient`). */
  readonly extraSpecValidation: ExtraSpecValidation;
  /** After an aggregate change committed: tell the schedulers (never throws). */
  readonly aggregatesChanged: () => Promise<void>;
  /** Uuids of what the API creates (instances, flavors without an id); injected for tests. */
  readonly newUuid: () => string;
}

export interface RouteOptions {
  readonly ctx: ComputeContext;
}

/**
 * The action a POST …/action body names (its one top-level key): Nova's 400 for a body naming
 * none, 404 "There is no such action" for one we do not serve.
 */
export function requireAction(body: unknown, known: readonly string[]): string {
  const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  const name = keys.length === 1 ? keys[0]! : undefined;
  if (name === undefined) throw badRequest('Malformed request body');
  if (!known.includes(name)) throw notFound(`There is no such action: ${name}`);
  return name;
}
