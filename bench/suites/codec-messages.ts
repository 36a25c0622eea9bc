/**
 * Three typical control-plane messages for the codec benchmark, with parsers written the
 * way real ones are (core/codec/fields.ts), so decode cost includes validation.
 * (a) a scheduler "select hosts" request, ~200 bytes;
 * (b) a host heartbeat with ~10 fields;
 * (c) a scheduler reply, ~3 KB: 20 ranked hosts plus alternates.
 */
import { defineMessage } from '../../core/codec/envelope.ts';
import * as f from '../../core/codec/fields.ts';
import { makeRng } from '../../core/rng.ts';

export const SEED = 'bench-codec-1';
/** Hosts in the reply: the scheduler's default top-K. */
export const REPLY_HOSTS = 20;
/** What a reply parser accepts per list. */
export const MAX_REPLY_HOSTS = 1_000;
/** Alternates in the reply (hosts to try when a claim on a selected host conflicts). */
export const REPLY_ALTERNATES = 10;

export interface SelectRequest {
  requestId: string;
  instanceUuid: string;
  flavor: { name: string; resources: Record<string, number> };
  traits: { required: string[]; forbidden: string[] };
  az?: string | undefined;
}

const SEL = 'cp.sched.select';
export const selectRequest = defineMessage<SelectRequest>({
  type: SEL,
  major: 1,
  minor: 0,
  parse(body) {
    const o = f.asObject(body, SEL);
    return {
      requestId: f.string(o, 'requestId', SEL),
      instanceUuid: f.string(o, 'instanceUuid', SEL),
      flavor: f.nested(o, 'flavor', SEL, (fl, p) => ({
        name: f.string(fl, 'name', p),
        resources: f.record(fl, 'resources', p, (v, vp) => f.asInt(v, vp, { min: 0 })),
      })),
      traits: f.nested(o, 'traits', SEL, (t, p) => ({
        required: f.strings(t, 'required', p),
        forbidden: f.strings(t, 'forbidden', p),
      })),
      az: f.optString(o, 'az', SEL),
    };
  },
});

export interface Heartbeat {
  hostId: string;
  cell: string;
  seq: number;
  atMs: number;
  uptimeS: number;
  state: 'up' | 'draining' | 'down';
  load1: number;
  vcpusUsed: number;
  memoryMbUsed: number;
  instances: number;
}

const HB = 'cp.host.heartbeat';
export const heartbeat = defineMessage<Heartbeat>({
  type: HB,
  major: 1,
  minor: 0,
  parse(body) {
    const o = f.asObject(body, HB);
    return {
      hostId: f.string(o, 'hostId', HB),
      cell: f.string(o, 'cell', HB),
      seq: f.int(o, 'seq', HB),
      atMs: f.int(o, 'atMs', HB),
      uptimeS: f.int(o, 'uptimeS', HB),
      state: f.oneOf(o, 'state', HB, ['up', 'draining', 'down']),
      load1: f.number(o, 'load1', HB),
      vcpusUsed: f.int(o, 'vcpusUsed', HB),
      memoryMbUsed: f.int(o, 'memoryMbUsed', HB),
      instances: f.int(o, 'instances', HB),
    };
  },
});

export interface RankedHost {
  host: string;
  providerUuid: string;
  score: number;
  generation: number;
}
export interface SelectReply {
  requestId: string;
  shard: string;
  snapshotGeneration: number;
  evaluated: number;
  ranked: RankedHost[];
  alternates: RankedHost[];
}

function parseRanked(v: unknown, path: string): RankedHost {
  const o = f.asObject(v, path);
  return {
    host: f.string(o, 'host', path),
    providerUuid: f.string(o, 'providerUuid', path),
    score: f.int(o, 'score', path, { min: 0, max: 100 }),
    generation: f.int(o, 'generation', path),
  };
}

const REP = 'cp.sched.selected';
export const selectReply = defineMessage<SelectReply>({
  type: REP,
  major: 1,
  minor: 0,
  parse(body) {
    const o = f.asObject(body, REP);
    return {
      requestId: f.string(o, 'requestId', REP),
      shard: f.string(o, 'shard', REP),
      snapshotGeneration: f.int(o, 'snapshotGeneration', REP),
      evaluated: f.int(o, 'evaluated', REP),
      ranked: f.list(o, 'ranked', REP, parseRanked, { maxItems: MAX_REPLY_HOSTS }),
      alternates: f.list(o, 'alternates', REP, parseRanked, { maxItems: MAX_REPLY_HOSTS }),
    };
  },
});

// ---- fixtures ------------------------------------------------------------------------

export const selectFixture: SelectRequest = {
  requestId: 'req-6f1c2a9e4b7d',
  instanceUuid: 'b3e0c8a2-5f4d-4e7a-9c1b-2d8f6a3e9b10',
  flavor: { name: 'm1.large', resources: { VCPU: 4, MEMORY_MB: 8192, DISK_GB: 80 } },
  traits: { required: ['HW_CPU_X86_AVX2'], forbidden: ['CUSTOM_MAINT'] },
  az: 'az-1',
};

export const heartbeatFixture: Heartbeat = {
  hostId: 'cell1-rack07-host0421',
  cell: 'cell1',
  seq: 184_467,
  atMs: 1_795_000_000_123, // beyond 2^32: a msgpack float64 / int64
  uptimeS: 8_640_123,
  state: 'up',
  load1: 3.42,
  vcpusUsed: 52,
  memoryMbUsed: 401_408,
  instances: 17,
};

function uuid(next: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function makeReplyFixture(seed: string | number = SEED): SelectReply {
  const rng = makeRng(seed);
  const host = (): RankedHost => ({
    host: `cell1-rack${String(rng.int(40)).padStart(2, '0')}-host${String(rng.int(10_000)).padStart(4, '0')}`,
    providerUuid: uuid(() => rng.next()),
    score: rng.int(101),
    generation: 1 + rng.int(100_000),
  });
  return {
    requestId: selectFixture.requestId,
    shard: 'cell1/shard-03',
    snapshotGeneration: 918_273,
    evaluated: 2_500,
    ranked: Array.from({ length: REPLY_HOSTS }, host),
    alternates: Array.from({ length: REPLY_ALTERNATES }, host),
  };
}
