/**
 * Quota usage kept per project in the API store (Redis in real deployments), so that admitting a
 * boot reads no cell: a cell whose store is down cannot refuse another cell's boot.
 *
 * Records (beside the other compute records):
 *   compute.quota-claim/<instance uuid>   {projectId, cores, ram, at, releasedAt}: one per instance
 *   compute.quota-book/<project>          {shapes}: the `<cores>x<ram>` shapes its claims use
 *   index compute.quota.<shape>.<project> the uuids of the project's live claims of that shape
 * Usage = Σ over the book's shapes of count(index) × shape: one read and a few counts.
 *
 * Every change of a claim is ONE atomic commit of the claim and its index entry, so usage always
 * equals the sum of the live claims. Increases (a boot's reserve, a resize's upsize, reconcile
 * adopting an instance it found uncounted) are also conditional on the project's book generation,
 * read BEFORE the counts: of two increases that checked the same usage only one commits, the other
 * re-reads and checks again — so two concurrent boots never both pass a limit only one fits in.
 * Decreases (release, reconcile dropping a claim) touch only the claim: usage only falls.
 * Concurrent reserves of a project in one process go out as one commit (group commit, at most
 * MAX_CLAIMS_PER_COMMIT instances), so a boot storm does not turn into CAS retries.
 *
 * A claim's life: reserved by the API before the instance is mapped, queued and recorded (a crash
 * after that leaves a claim with no instance: reconcile drops it once older than its grace period);
 * released by the CONDUCTOR when its delete has purged the record (onDeleted, deploy/cell-roles.ts);
 * the release leaves a tombstone so that a reconcile pass that read the record just before the
 * purge cannot count it again; reconcile removes tombstones after the grace period.
 *
 * Why the conductor releases and not the API accepting the delete: the delete job is durable and
 * onDeleted runs again on every redelivery until it succeeds (a successor finds the record gone and
 * goes straight to onDeleted), and a release is idempotent (the tombstone), so every completed
 * delete releases exactly once whatever crashes. And usage never falls while the instance still
 * exists (a delete accepted but not done — conductor down, host unreachable — still counts, as in
 * Nova where an instance counts until its record is deleted). Releasing at accept time would free
 * quota for an instance that may never go away, and a crash between the enqueue and the release
 * would leak the claim.
 */
import type { ReserveRequest, ReserveResult } from '../../cells/servers/ports.ts';
import { CellplaneError } from '../../core/errors.ts';
import type { Store, WriteOp } from '../../core/ports/store.ts';
import { Records, trustedRecord, type Versioned } from '../../core/stores/records.ts';
import { checkQuota, type InstanceCounts, instancesThatFit, type UsageSource, ZERO_COUNTS } from './quota.ts';
import { MAX_COMMIT_ATTEMPTS } from './store/commit.ts';

/** Instances claimed in one commit (each claim is 2 ops; Store commits hold at most 4,096). */
export const MAX_CLAIMS_PER_COMMIT = 500;
/** Claims read per round trip by `allClaims`. */
export const CLAIM_READ_BATCH = 1_000;

export interface QuotaClaim {
  readonly projectId: string;
  /** What the instance counts for: its flavor's VCPUs and RAM (MiB). */
  readonly cores: number;
  readonly ram: number;
  /** When it was reserved or adopted (ms since the epoch): a young claim may be in flight. */
  readonly at: number;
  /** Set when released: a tombstone, counted nowhere, removed by reconcile after the grace. */
  readonly releasedAt: number | null;
}

interface QuotaBook {
  readonly shapes: readonly string[];
}

const claimMessage = trustedRecord<QuotaClaim>('cp.compute.quota_claim');
const bookMessage = trustedRecord<QuotaBook>('cp.compute.quota_book');

const shapeOf = (c: Pick<QuotaClaim, 'cores' | 'ram'>) => `${c.cores}x${c.ram}`;
const indexOf = (projectId: string, shape: string) => `compute.quota.${shape}.${projectId}`;
const isLive = (c: QuotaClaim | undefined): c is QuotaClaim => !!c && c.releasedAt === null;

/** What a claim rewrite did: `stale` when the claim changed since the caller read it. */
export type RewriteOutcome = 'ok' | 'stale' | { readonly refused: string };

interface Pending {
  readonly req: ReserveRequest;
  resolve(r: ReserveResult): void;
  reject(err: unknown): void;
}

export class QuotaLedger implements UsageSource {
  readonly claims: Records<QuotaClaim>;
  private readonly books: Records<QuotaBook>;
  private readonly pending = new Map<string, Pending[]>();
  private readonly draining = new Set<string>();

  constructor(
    readonly store: Store,
    readonly now: () => number = () => Date.now(),
  ) {
    this.claims = new Records(store, 'compute.quota-claim', claimMessage);
    this.books = new Records(store, 'compute.quota-book', bookMessage);
  }

  async usage(projectId: string): Promise<InstanceCounts> {
    return (await this.read(projectId)).usage;
  }

  /**
   * Claims as many of `req.uuids` as fit (at least `req.min`, else none and Nova's "Quota
   * exceeded …" message). Throws `conflict` only after MAX_COMMIT_ATTEMPTS lost races.
   */
  reserve(req: ReserveRequest): Promise<ReserveResult> {
    if (req.uuids.length > MAX_CLAIMS_PER_COMMIT)
      throw new CellplaneError('invalid', `at most ${MAX_CLAIMS_PER_COMMIT} instances per reservation`);
    return new Promise((resolve, reject) => {
      const q = this.pending.get(req.projectId) ?? [];
      q.push({ req, resolve, reject });
      this.pending.set(req.projectId, q);
      void this.drain(req.projectId);
    });
  }

  /** Tombstones the instance's claim; false when it had none or it was released already. */
  async release(uuid: string): Promise<boolean> {
    for (let i = 0; i < MAX_COMMIT_ATTEMPTS; i++) {
      const cur = await this.claims.get(uuid);
      if (!isLive(cur?.value)) return false;
      const out = await this.rewrite(uuid, cur, { ...cur.value, releasedAt: this.now() });
      if (out === 'ok') return true;
    }
    throw lostRaces(`release of ${uuid}`);
  }

  /**
   * A resize's upsize: the claim grows to hold both flavors (max of each) until reconcile sees the
   * instance settled; refused (Nova's message) when the growth over `from` does not fit.
   */
  async resize(
    uuid: string,
    projectId: string,
    limits: Readonly<Record<string, number>>,
    from: Pick<QuotaClaim, 'cores' | 'ram'>,
    to: Pick<QuotaClaim, 'cores' | 'ram'>,
  ): Promise<RewriteOutcome> {
    const request = {
      instances: 0,
      cores: Math.max(0, to.cores - from.cores),
      ram: Math.max(0, to.ram - from.ram),
    };
    for (let i = 0; i < MAX_COMMIT_ATTEMPTS; i++) {
      const cur = await this.claims.get(uuid);
      const held = isLive(cur?.value) ? cur.value : { ...from, projectId, at: this.now(), releasedAt: null };
      const next = { ...held, cores: Math.max(held.cores, to.cores), ram: Math.max(held.ram, to.ram) };
      if (cur && isLive(cur.value) && next.cores === held.cores && next.ram === held.ram) return 'ok';
      const out = await this.rewrite(uuid, cur, next, (usage) => checkQuota(usage, limits, request));
      if (out !== 'stale') return out;
    }
    throw lostRaces(`resize of ${uuid}`);
  }

  /**
   * Replaces the claim read as `current` (undefined: none) by `next` (undefined: removed), in one
   * commit conditional on the claim's generation — and on the book's when usage grows, after
   * `check` (if given) accepted the usage it would grow from.
   */
  async rewrite(
    uuid: string,
    current: Versioned<QuotaClaim> | undefined,
    next: QuotaClaim | undefined,
    check?: (usage: InstanceCounts) => { ok: true } | { ok: false; message: string },
  ): Promise<RewriteOutcome> {
    const cur = isLive(current?.value) ? current.value : undefined;
    const claimOp = next
      ? this.claims.put(uuid, next, current?.generation ?? 0)
      : this.claims.delete(uuid, current?.generation ?? 0);
    for (let i = 0; i < MAX_COMMIT_ATTEMPTS; i++) {
      const ops: WriteOp[] = [claimOp];
      if (cur) ops.push({ op: 'unindex', index: indexOf(cur.projectId, shapeOf(cur)), member: uuid });
      if (isLive(next)) {
        ops.push({ op: 'index', index: indexOf(next.projectId, shapeOf(next)), member: uuid });
        const grows =
          !cur || cur.projectId !== next.projectId || next.cores > cur.cores || next.ram > cur.ram;
        const { book, usage } = await this.read(next.projectId, grows);
        if (grows && check) {
          const verdict = check(usage);
          if (!verdict.ok) return { refused: verdict.message };
        }
        const shapes = book?.value.shapes ?? [];
        if (grows || !shapes.includes(shapeOf(next)))
          ops.push(this.bookPut(next.projectId, book, [shapeOf(next)]));
      }
      const out = await this.store.commit(ops);
      if (out.ok) return 'ok';
      if (out.conflicts.some((c) => c.key === this.claims.key(uuid))) return 'stale';
    }
    throw lostRaces(`quota claim of ${uuid}`);
  }

  /** Every claim, live or tombstone (reconcile's scan). */
  async allClaims(): Promise<Map<string, Versioned<QuotaClaim>>> {
    const ids = await this.claims.ids();
    const out = new Map<string, Versioned<QuotaClaim>>();
    for (let i = 0; i < ids.length; i += CLAIM_READ_BATCH)
      for (const c of await this.claims.getMany(ids.slice(i, i + CLAIM_READ_BATCH))) if (c) out.set(c.id, c);
    return out;
  }

  /** The book (read first: its generation guards what follows) and, when asked, the usage. */
  private async read(projectId: string, withUsage = true) {
    const book = await this.books.get(projectId);
    const shapes = book?.value.shapes ?? [];
    if (!withUsage || shapes.length === 0) return { book, usage: ZERO_COUNTS };
    const counts = await Promise.all(shapes.map((sh) => this.store.count(indexOf(projectId, sh))));
    const usage = { instances: 0, cores: 0, ram: 0 };
    shapes.forEach((sh, i) => {
      const [cores, ram] = sh.split('x').map(Number) as [number, number];
      usage.instances += counts[i]!;
      usage.cores += counts[i]! * cores;
      usage.ram += counts[i]! * ram;
    });
    return { book, usage: usage as InstanceCounts };
  }

  private bookPut(projectId: string, book: Versioned<QuotaBook> | undefined, more: readonly string[]) {
    const shapes = [...new Set([...(book?.value.shapes ?? []), ...more])].sort();
    return this.books.put(projectId, { shapes }, book?.generation ?? 0);
  }

  /** One batch at a time per project, until its queue is empty. */
  private async drain(projectId: string): Promise<void> {
    if (this.draining.has(projectId)) return;
    this.draining.add(projectId);
    try {
      for (;;) {
        const queue = this.pending.get(projectId) ?? [];
        if (queue.length === 0) {
          this.pending.delete(projectId);
          return;
        }
        let n = 0;
        let claims = 0;
        while (n < queue.length && (n === 0 || claims + queue[n]!.req.uuids.length <= MAX_CLAIMS_PER_COMMIT))
          claims += queue[n++]!.req.uuids.length;
        const batch = queue.splice(0, n);
        try {
          const results = await this.commitBatch(projectId, batch);
          for (const [i, p] of batch.entries()) p.resolve(results[i]!);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.draining.delete(projectId);
    }
  }

  /** Decides every request of the batch in order on one read of usage, then commits them at once. */
  private async commitBatch(projectId: string, batch: readonly Pending[]): Promise<ReserveResult[]> {
    for (let i = 0; i < MAX_COMMIT_ATTEMPTS; i++) {
      const { book, usage } = await this.read(projectId);
      let running = usage;
      const results: ReserveResult[] = [];
      const ops: WriteOp[] = [];
      const shapes: string[] = [];
      const at = this.now();
      for (const { req } of batch) {
        const per = { cores: req.cores, ram: req.ram };
        const count = Math.min(req.uuids.length, instancesThatFit(running, req.limits, per));
        if (count < req.min) {
          const want = { instances: req.min, cores: req.cores * req.min, ram: req.ram * req.min };
          const verdict = checkQuota(running, req.limits, want);
          results.push({ ok: false, message: verdict.ok ? 'Quota exceeded' : verdict.message });
          continue;
        }
        const claim: QuotaClaim = { projectId, ...per, at, releasedAt: null };
        shapes.push(shapeOf(claim));
        for (const uuid of req.uuids.slice(0, count))
          ops.push(this.claims.put(uuid, claim, 0), {
            op: 'index',
            index: indexOf(projectId, shapeOf(claim)),
            member: uuid,
          });
        running = {
          instances: running.instances + count,
          cores: running.cores + count * req.cores,
          ram: running.ram + count * req.ram,
        };
        results.push({ ok: true, count });
      }
      if (ops.length === 0) return results;
      ops.push(this.bookPut(projectId, book, shapes));
      if ((await this.store.commit(ops)).ok) return results;
    }
    throw lostRaces(`quota reservation in project ${projectId}`);
  }
}

function lostRaces(what: string): CellplaneError {
  return new CellplaneError(
    'conflict',
    `${what} lost ${MAX_COMMIT_ATTEMPTS} races with concurrent writers; retry the request`,
  );
}
