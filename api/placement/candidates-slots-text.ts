/**
 * GET /allocation_candidates' answer written from the index's slots (core/placement/index/slots.ts)
 * for microversions 1.12+: the same bytes as `candidatesText(slotsToCandidates(found), request, v)`
 * (test/unit/api/placement/candidates-slots-text.test.ts checks it against the object form), without
 * the AllocationRequest and ProviderSummary objects, their Maps, and one string per value.
 *
 * What depends only on one provider — its quoted uuid and its summary's resources, traits and tree
 * as UTF-8 JSON — is kept between requests in the index's `derived[slot]`, which the index clears
 * as soon as the state reports any change to that provider: it is the state's text, not an
 * answer. Every request still runs its own search and writes its own answer from the current state.
 *
 * The body is copied piece by piece into one Buffer (TypedArray#set): about 5 copies per candidate
 * and 1 per summarised provider, instead of a rope of ~10,000 strings that Buffer.from then has to
 * flatten and encode (that alone cost more than the search at limit=1000).
 */
import { capacity } from '../../core/model/inventory.ts';
import type { CandidateRequest } from '../../core/placement/candidates.ts';
import type { CandidateIndex, CandidateSlots } from '../../core/placement/index/index.ts';
import type { ProviderView } from '../../core/placement/operations.ts';
import type { BodyPool } from './body-pool.ts';
import type { Microversion } from './microversion.ts';

/** Body bytes reserved per candidate before the writer grows (a flat 1.39 answer takes ~450). */
const BYTES_PER_CANDIDATE = 512;
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
/** JSON.stringify's number text (null for non-finite). */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

const LIT = {
  open: utf8('{"allocation_requests":['),
  summaries: utf8('],"provider_summaries":{'),
  close: utf8('}}'),
  allocations: utf8('{"allocations":{'),
  resourcesOpen: utf8(':{"resources":{'),
  resourcesClose: utf8('}}'),
  mappings: utf8('},"mappings":{"":['),
  mappingsClose: utf8(']}}'),
  allocationsClose: utf8('}}'),
  summaryResources: utf8(':{"resources":'),
  traits: utf8(',"traits":'),
  brace: utf8('}'),
};
const COMMA = 0x2c;

/** One provider's JSON pieces (UTF-8), as of its last change. */
class ProviderText {
  /** `"<uuid>"` */
  readonly quoted: Buffer;
  /** Every class: `{"VCPU":{"capacity":128,"used":8},…}` (1.27+). */
  readonly resources: Buffer;
  /** `["HW_CPU_X86_AVX2",…]` */
  readonly traits: Buffer;
  /** The whole 1.29+ summary entry: `"<uuid>":{"resources":…,"traits":…,"parent_provider_uuid":…,"root_provider_uuid":…}` */
  readonly summary: Buffer;

  constructor(rp: ProviderView) {
    const quoted = JSON.stringify(rp.uuid);
    const resources = resourcesJson(rp, undefined);
    const traits = JSON.stringify([...rp.traits]);
    const tree = `"parent_provider_uuid":${JSON.stringify(rp.parentUuid)},"root_provider_uuid":${JSON.stringify(rp.rootUuid)}`;
    this.quoted = utf8(quoted);
    this.resources = utf8(resources);
    this.traits = utf8(traits);
    this.summary = utf8(`${quoted}:{"resources":${resources},"traits":${traits},${tree}}`);
  }
}

/** `{"RC":{"capacity":…,"used":…},…}` in inventory order; only `requested` classes when given. */
function resourcesJson(rp: ProviderView, requested: ReadonlySet<string> | undefined): string {
  let out = '';
  for (const [rc, inv] of rp.inventories) {
    if (requested && !requested.has(rc)) continue;
    out += `${out ? ',' : ''}${JSON.stringify(rc)}:{"capacity":${num(capacity(inv))},"used":${num(rp.usages.get(rc) ?? 0)}}`;
  }
  return `{${out}}`;
}

/** The provider in `slot`'s text, kept in the index until the provider changes. */
function textOf(ix: CandidateIndex, slot: number): ProviderText {
  let t = ix.derived[slot];
  if (!(t instanceof ProviderText)) {
    t = new ProviderText(ix.state.provider(ix.uuidOf[slot]!)!);
    ix.derived[slot] = t;
  }
  return t as ProviderText;
}

/** Appends bytes to one growing Buffer. */
class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(
    bytes: number,
    private readonly pool: BodyPool | undefined,
  ) {
    this.buf = pool ? pool.take(bytes) : Buffer.allocUnsafe(bytes);
  }

  put(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  comma(): void {
    if (this.pos === this.buf.length) this.grow(1);
    this.buf[this.pos++] = COMMA;
  }

  /** The bytes written (a view of the buffer: no copy). */
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private grow(more: number): void {
    const size = Math.max(this.buf.length * 2, this.pos + more);
    const next = this.pool ? this.pool.take(size) : Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.pool?.give(this.buf);
    this.buf = next;
  }
}

/** The answer's JSON body; microversion 1.12+. */
export function candidateSlotsBody(
  found: CandidateSlots,
  request: CandidateRequest,
  v: Microversion,
  /** Where the body's buffer comes from (the caller hands it back when the response finished). */
  pool?: BodyPool,
): Buffer {
  if (!v.atLeast(12)) throw new Error('candidateSlotsBody writes microversion 1.12+ only');
  const out = new Writer(Math.max(1024, found.count * BYTES_PER_CANDIDATE), pool);
  out.put(LIT.open);
  allocationRequests(found, v, out);
  out.put(LIT.summaries);
  providerSummaries(found, request, v, out);
  out.put(LIT.close);
  return out.done();
}

function allocationRequests(found: CandidateSlots, v: Microversion, out: Writer): void {
  const { index: ix, classes, amounts } = found;
  const n = classes.length;
  const classText = classes.map((rc, c) => `${JSON.stringify(rc)}:${num(amounts[c]!)}`);
  /** All classes from one provider (the usual flat candidate), up to the provider's closing brace. */
  const allFromOne = `:{"resources":{${classText.join(',')}}}`;
  const classBytes = classText.map(utf8);
  const end = v.atLeast(34) ? LIT.mappings : LIT.allocationsClose;
  // The one-provider candidate's constant runs, joined so it takes 3 (5 with mappings) copies.
  const singleMiddle = utf8(`${allFromOne}${end.toString()}`);
  const nextAllocations = utf8(`,${LIT.allocations.toString()}`);
  for (let k = 0; k < found.count; k++) {
    const first = found.giver(k, 0);
    let single = true;
    for (let c = 1; c < n && single; c++) single = found.giver(k, c) === first;
    if (single) {
      const q = textOf(ix, first).quoted;
      out.put(k > 0 ? nextAllocations : LIT.allocations);
      out.put(q);
      out.put(singleMiddle);
      if (end === LIT.mappings) {
        out.put(q);
        out.put(LIT.mappingsClose);
      }
      continue;
    }
    if (k > 0) out.comma();
    out.put(LIT.allocations);
    // Providers in order of their first class; each with its classes in the request's order.
    for (let c = 0; c < n; c++) {
      if (firstUse(found, k, c) !== c) continue;
      if (c > 0) out.comma();
      out.put(textOf(ix, found.giver(k, c)).quoted);
      out.put(LIT.resourcesOpen);
      out.put(classBytes[c]!);
      for (let d = c + 1; d < n; d++) {
        if (found.giver(k, d) !== found.giver(k, c)) continue;
        out.comma();
        out.put(classBytes[d]!);
      }
      out.put(LIT.resourcesClose);
    }
    out.put(end);
    if (end !== LIT.mappings) continue;
    for (let c = 0; c < n; c++) {
      if (firstUse(found, k, c) !== c) continue;
      if (c > 0) out.comma();
      out.put(textOf(ix, found.giver(k, c)).quoted);
    }
    out.put(LIT.mappingsClose);
  }
}

/** The first class of candidate `k` given by the same slot as class `c`. */
function firstUse(found: CandidateSlots, k: number, c: number): number {
  const slot = found.giver(k, c);
  for (let e = 0; e < c; e++) if (found.giver(k, e) === slot) return e;
  return c;
}

/** Every provider of every tree that kept a candidate, trees in candidate order (roots ascend). */
function providerSummaries(
  found: CandidateSlots,
  request: CandidateRequest,
  v: Microversion,
  out: Writer,
): void {
  const ix = found.index;
  const requested = v.atLeast(27)
    ? undefined
    : new Set(request.groups.flatMap((g) => Object.keys(g.resources)));
  let lastRoot = -1;
  let first = true;
  for (let k = 0; k < found.count; k++) {
    const root = found.rootOf(k);
    if (root === lastRoot) continue;
    lastRoot = root;
    for (const slot of ix.treeOf(root)) {
      const t = textOf(ix, slot);
      if (!first) out.comma();
      first = false;
      if (v.atLeast(29)) {
        out.put(t.summary);
        continue;
      }
      out.put(t.quoted);
      out.put(LIT.summaryResources);
      out.put(requested ? utf8(resourcesJson(ix.state.provider(ix.uuidOf[slot]!)!, requested)) : t.resources);
      if (v.atLeast(17)) {
        out.put(LIT.traits);
        out.put(t.traits);
      }
      out.put(LIT.brace);
    }
  }
}
