/**
 * A counter actor instrumented for the runtime's tests: state persisted in a Map, every
 * activation/deactivation recorded, and a `work` message that can be held at a gate and that
 * detects two messages of one actor overlapping.
 */

import { defineActor } from '../../../actors/runtime/actor.ts';
import { defineAsk } from '../../../actors/runtime/protocol.ts';
import { defineMessage } from '../../../core/codec/envelope.ts';
import { asInt, asObject, asStrings, int, list, optInt } from '../../../core/codec/fields.ts';
import { CellplaneError } from '../../../core/errors.ts';

export interface CounterState {
  n: number;
  /** `seq` of every add, in handling order. */
  seqs: number[];
}

export const add = defineMessage<{ by: number; seq?: number }>({
  type: 'cp.test.counter.add',
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, 'add');
    const seq = optInt(o, 'seq', 'add');
    return seq === undefined ? { by: int(o, 'by', 'add') } : { by: int(o, 'by', 'add'), seq };
  },
});

const empty = (type: string) =>
  defineMessage<Record<string, never>>({ type, major: 1, minor: 0, parse: () => ({}) });

const countReply = defineMessage<{ n: number; seqs: number[] }>({
  type: 'cp.test.counter.count',
  major: 1,
  minor: 0,
  parse(body) {
    const o = asObject(body, 'count');
    return { n: int(o, 'n', 'count'), seqs: list(o, 'seqs', 'count', (v, path) => asInt(v, path)) };
  },
});

export const get = defineAsk(empty('cp.test.counter.get'), countReply);
/** Changes the state, then throws a plain Error: a crash. */
export const boom = defineAsk(empty('cp.test.counter.boom'), countReply);
/** Throws a coded `conflict`: an answer, not a crash. */
export const refuse = defineAsk(empty('cp.test.counter.refuse'), countReply);
/** Waits at the probe's gate; replies with the actor ids seen inside `work` when it entered. */
export const work = defineAsk(
  empty('cp.test.counter.work'),
  defineMessage<string[]>({
    type: 'cp.test.counter.worked',
    major: 1,
    minor: 0,
    parse: (b) => asStrings(b, 'worked'),
  }),
);

export class Probe {
  readonly store = new Map<string, CounterState>();
  readonly activations: string[] = [];
  readonly deactivations: string[] = [];
  /** Ids currently inside `work`, with how many of their messages are. */
  readonly inside = new Map<string, number>();
  overlap = false;
  maxInside = 0;
  /** `work` awaits this before leaving (replace to hold messages). */
  gate: Promise<void> = Promise.resolve();
  /** Called with the id when a `work` message enters. */
  onEnter: (id: string) => void = () => {};
  /** Ids whose activation throws `unavailable`. */
  readonly failActivate = new Set<string>();
  /** Ids whose deactivation throws `unavailable`. */
  readonly failDeactivate = new Set<string>();
  /** `deactivate` awaits this before persisting. */
  deactivateGate: Promise<void> = Promise.resolve();

  /** Closes the gate; returns the function that opens it. */
  hold(): () => void {
    let open!: () => void;
    this.gate = new Promise((r) => {
      open = r;
    });
    return open;
  }

  total(): number {
    let t = 0;
    for (const s of this.store.values()) t += s.n;
    return t;
  }
}

const yieldMacrotask = () => new Promise<void>((r) => setImmediate(r));

export function counterActor(p: Probe, kind = 'counter') {
  return defineActor<CounterState>({
    kind,
    async activate(id) {
      p.activations.push(id);
      await Promise.resolve();
      if (p.failActivate.has(id)) throw new CellplaneError('unavailable', `store down for ${id}`);
      const saved = p.store.get(id);
      return saved ? { n: saved.n, seqs: [...saved.seqs] } : { n: 0, seqs: [] };
    },
    async deactivate(id, state) {
      await p.deactivateGate;
      if (p.failDeactivate.has(id)) throw new CellplaneError('unavailable', `store down for ${id}`);
      p.deactivations.push(id);
      p.store.set(id, { n: state.n, seqs: [...state.seqs] });
    },
  })
    .on(add, (ctx, { by, seq }) => {
      ctx.state.n += by;
      if (seq !== undefined) ctx.state.seqs.push(seq);
    })
    .on(get, (ctx) => ({ n: ctx.state.n, seqs: ctx.state.seqs }))
    .on(boom, (ctx) => {
      ctx.state.n = -1_000;
      throw new Error(`boom in ${ctx.address.id}`);
    })
    .on(refuse, () => {
      throw new CellplaneError('conflict', 'generation moved');
    })
    .on(work, async (ctx) => {
      const id = ctx.address.id;
      const mine = (p.inside.get(id) ?? 0) + 1;
      p.inside.set(id, mine);
      if (mine > 1) p.overlap = true;
      p.maxInside = Math.max(p.maxInside, p.inside.size);
      const seen = [...p.inside.keys()];
      p.onEnter(id);
      await yieldMacrotask();
      await p.gate;
      await yieldMacrotask();
      const left = (p.inside.get(id) ?? 1) - 1;
      if (left === 0) p.inside.delete(id);
      else p.inside.set(id, left);
      return seen;
    });
}
