/**
 * The host registrar of one cell: listens to the host agents' registrations
 * (`cp.<cell>.hosts.register`, host-agent/agent.ts `agentSubjects`; subject and parser are
 * injected, see RegistrationSource) and turns each into a
 * provider-tree `register` ask on the tree actor of the host's root provider, so the tree lands
 * in the cell store and its change event reaches the scheduler shards. Optionally records the
 * host→cell mapping first (cells/memberships.ts), so a host already mapped to another cell is
 * refused before its tree reaches this cell's store.
 *
 * Contracts:
 * - **Idempotent.** A registration is a whole tree: registering it again is answered
 *   `changed: false` by the tree actor (nothing written), and mapping a host to the same cell
 *   again is a success. So a resync or a duplicate message is harmless.
 * - **Ordered per host.** At most one registration of a host is in flight; one arriving meanwhile
 *   waits, and a newer one replaces a waiting one (the latest tree wins — never an older tree
 *   applied after a newer one).
 * - **Bounded.** At most `maxInFlight` (REGISTRAR_MAX_IN_FLIGHT) asks at a time over all hosts,
 *   at most REGISTRAR_MAX_WAITING_HOSTS hosts waiting; beyond that a registration is dropped and
 *   reported (the agent re-registers on the next resync).
 * - **Errors are reported, never thrown** from the subscription: `onEvent` gets `failed` with the
 *   host and the coded error, and `invalid` for a message it cannot parse.
 * - **Lost trees come back.** `reregister(root)` (a claim found the tree unregistered: the store
 *   lost it) asks that host's agent to register again through `askAgain` — every host when the
 *   root is not known here — at most once per REGISTRAR_REREGISTER_MIN_INTERVAL_MS per host.
 */
import { CellplaneError, toCellplaneError } from '../core/errors.ts';
import { parseUuid, type Uuid } from '../core/model/ids.ts';
import type { Inventory } from '../core/model/inventory.ts';
import type { Bus, Subscription } from '../core/ports/bus.ts';
import type { ProviderTreeClient } from './provider-tree-client.ts';
import type { ProviderData } from './provider-tree-wire.ts';

/** Register asks in flight at once, over all hosts. */
export const REGISTRAR_MAX_IN_FLIGHT = 16;
/** Hosts with a registration waiting for a free slot; more are dropped (and reported). */
export const REGISTRAR_MAX_WAITING_HOSTS = 100_000;
/** A host asked to register again (its tree was lost) is not asked again sooner than this. */
export const REGISTRAR_REREGISTER_MIN_INTERVAL_MS = 5_000;

/** What the registrar reads of a registration (host-agent/messages.ts `RegisterHost` fits). */
export interface HostRegistration {
  readonly host: string;
  readonly cell: string;
  /** Where the host's agent is asked (scope and actor kinds). */
  readonly route: { readonly scope: string; readonly hostKind: string; readonly instanceKind: string };
  /** Root (no parentUuid) first, parents before children. */
  readonly providers: readonly {
    readonly uuid: string;
    readonly name: string;
    readonly parentUuid?: string;
    readonly inventories: Readonly<Record<string, Inventory>>;
    readonly traits: readonly string[];
  }[];
  readonly incarnation: number;
}

/**
 * Where registrations arrive and how to read them: the dependency rule keeps host-agent/ out of
 * actors/, so the caller passes `{ subject: agentSubjects(cell).register, parse: (d) =>
 * decode(registerHost, d) }`. `parse` may throw (reported as `invalid`).
 */
export interface RegistrationSource {
  readonly subject: string;
  parse(data: Uint8Array): HostRegistration;
}

/** What the registrar knows of a host once its tree is registered: where to claim and to spawn. */
export interface RegisteredHost {
  readonly host: string;
  readonly root: Uuid;
  readonly route: HostRegistration['route'];
  readonly incarnation: number;
  /** Store generation of the tree's record after the registration. */
  readonly version: number;
}

export type RegistrarEvent =
  | { readonly type: 'registered'; readonly host: RegisteredHost; readonly changed: boolean }
  | { readonly type: 'failed'; readonly host: string; readonly error: CellplaneError }
  | { readonly type: 'dropped'; readonly host: string }
  | { readonly type: 'ignored'; readonly host: string; readonly reason: string }
  | { readonly type: 'invalid'; readonly error: CellplaneError }
  /** A tree was found unregistered: its host (undefined: not known here, so every host) was asked again. */
  | { readonly type: 'reregister'; readonly root: string; readonly host: string | undefined };

export interface HostRegistrarOptions {
  readonly bus: Bus;
  readonly cell: string;
  readonly trees: Pick<ProviderTreeClient, 'register'>;
  readonly registrations: RegistrationSource;
  /**
   * When given with `cellUuid`: maps each host to this cell before registering its tree
   * (cells/memberships.ts `CellMemberships`; `conflict` when mapped to another cell).
   */
  readonly memberships?: { mapHost(host: string, cellUuid: string): Promise<unknown> };
  readonly cellUuid?: string;
  readonly maxInFlight?: number;
  /** Asks agents to register again: the listed hosts, or every host (agentSubjects(cell).resync). */
  readonly askAgain?: (hosts?: readonly string[]) => void;
  /** Time for the re-register rate limit (the Clock's `now`); default Date.now. */
  readonly now?: () => number;
  /** Must not throw. */
  readonly onEvent?: (e: RegistrarEvent) => void;
}

interface HostSlot {
  running: boolean;
  waiting: HostRegistration | undefined;
}

export class HostRegistrar {
  private readonly slots = new Map<string, HostSlot>();
  private readonly ready: string[] = [];
  private readonly known = new Map<string, RegisteredHost>();
  private readonly idleWaiters: Array<() => void> = [];
  /** Host (or '' for "every host") → when it was last asked to register again. */
  private readonly askedAt = new Map<string, number>();
  private inFlight = 0;
  private sub: Subscription | undefined;

  constructor(private readonly opts: HostRegistrarOptions) {
    if (opts.memberships && opts.cellUuid === undefined)
      throw new CellplaneError('invalid', 'HostRegistrar: memberships needs cellUuid');
    const n = opts.maxInFlight;
    if (n !== undefined && (!Number.isInteger(n) || n < 1))
      throw new CellplaneError('invalid', `HostRegistrar: maxInFlight must be an integer >= 1, got ${n}`);
  }

  async start(): Promise<void> {
    if (this.sub) return;
    this.sub = await this.opts.bus.subscribe(this.opts.registrations.subject, (m) => {
      this.receive(m.data);
    });
  }

  /** Unsubscribes, then waits for the registrations in flight. */
  async stop(): Promise<void> {
    await this.sub?.unsubscribe().catch(() => {});
    this.sub = undefined;
    await this.idle();
  }

  /** The host's registration once its tree is registered here. */
  host(name: string): RegisteredHost | undefined {
    return this.known.get(name);
  }

  hosts(): RegisteredHost[] {
    return [...this.known.values()];
  }

  /**
   * The tree rooted at `root` has no record (a claim found it unregistered): asks its host to
   * register again (rate-limited, see the header). Without `askAgain`, does nothing.
   */
  reregister(root: string): void {
    const ask = this.opts.askAgain;
    if (!ask) return;
    const host = [...this.known.values()].find((h) => h.root === root)?.host;
    const key = host ?? '';
    const now = (this.opts.now ?? Date.now)();
    const last = this.askedAt.get(key);
    if (last !== undefined && now - last < REGISTRAR_REREGISTER_MIN_INTERVAL_MS) return;
    if (this.askedAt.size >= REGISTRAR_MAX_WAITING_HOSTS) this.askedAt.clear();
    this.askedAt.set(key, now);
    try {
      ask(host === undefined ? undefined : [host]);
    } catch {
      // The bus is closing: nothing to ask with.
    }
    this.emit({ type: 'reregister', root, host });
  }

  /** Resolves when nothing is in flight or waiting. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.ready.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Takes one encoded registration (what the subscription does). */
  receive(data: Uint8Array): void {
    let reg: HostRegistration;
    try {
      reg = this.opts.registrations.parse(data);
    } catch (err) {
      this.emit({ type: 'invalid', error: toCellplaneError(err) });
      return;
    }
    if (reg.cell !== this.opts.cell) {
      this.emit({ type: 'ignored', host: reg.host, reason: `registered for cell ${reg.cell}` });
      return;
    }
    const slot = this.slots.get(reg.host);
    if (slot) {
      // Running: waits for it. Not running: already queued in `ready`. A newer tree replaces a waiting one.
      slot.waiting = reg;
    } else {
      if (this.ready.length >= REGISTRAR_MAX_WAITING_HOSTS) {
        this.emit({ type: 'dropped', host: reg.host });
        return;
      }
      this.slots.set(reg.host, { running: false, waiting: reg });
      this.ready.push(reg.host);
    }
    this.pump();
  }

  private pump(): void {
    const limit = this.opts.maxInFlight ?? REGISTRAR_MAX_IN_FLIGHT;
    while (this.inFlight < limit && this.ready.length > 0) {
      const name = this.ready.shift()!;
      const slot = this.slots.get(name);
      const reg = slot?.waiting;
      if (!slot || !reg || slot.running) continue;
      slot.waiting = undefined;
      slot.running = true;
      this.inFlight++;
      void this.apply(reg).finally(() => this.done(name, slot));
    }
    if (this.inFlight === 0 && this.ready.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private done(name: string, slot: HostSlot): void {
    slot.running = false;
    this.inFlight--;
    if (slot.waiting) this.ready.push(name);
    else this.slots.delete(name);
    this.pump();
  }

  private async apply(reg: HostRegistration): Promise<void> {
    try {
      const { root, providers } = treeOf(reg.providers);
      const { memberships, cellUuid } = this.opts;
      if (memberships && cellUuid !== undefined) await memberships.mapHost(reg.host, cellUuid);
      const reply = await this.opts.trees.register(root, providers);
      const host: RegisteredHost = {
        host: reg.host,
        root,
        route: reg.route,
        incarnation: reg.incarnation,
        version: reply.version,
      };
      this.known.set(reg.host, host);
      this.emit({ type: 'registered', host, changed: reply.changed });
    } catch (err) {
      this.emit({ type: 'failed', host: reg.host, error: toCellplaneError(err) });
    }
  }

  private emit(e: RegistrarEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // Contract: listeners must not throw.
    }
  }
}

/** A host's providers as a provider tree: exactly one root (no parent), UUIDs canonical. */
export function treeOf(providers: HostRegistration['providers']): { root: Uuid; providers: ProviderData[] } {
  const out = providers.map(
    (p, i): ProviderData => ({
      uuid: parseUuid(p.uuid, `providers[${i}].uuid`),
      name: p.name,
      parentUuid: p.parentUuid === undefined ? null : parseUuid(p.parentUuid, `providers[${i}].parentUuid`),
      inventories: p.inventories,
      traits: p.traits,
      aggregates: [],
    }),
  );
  const roots = out.filter((p) => p.parentUuid === null);
  if (roots.length !== 1)
    throw new CellplaneError('invalid', `a host's tree needs exactly one root provider, got ${roots.length}`);
  return { root: roots[0]!.uuid, providers: out };
}
