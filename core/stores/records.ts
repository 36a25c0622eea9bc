/**
 * Typed records over the Store: the groundwork CellStore and ApiStore build on. A record
 * kind owns one key space (`<space>/<id>`) and stores each value as a versioned envelope
 * (core/codec/envelope.ts), so a record written by a newer minor still reads after a
 * rolling upgrade and an unknown major fails loudly as `unsupportedVersion`.
 *
 * Reads return the generation; writes are WriteOps the caller batches into one
 * `store.commit`, so a change spanning several records (and index entries) is atomic.
 */

import { decode, defineMessage, encode, type MessageType } from '../codec/envelope.ts';
import { CellplaneError } from '../errors.ts';
import type { Store, WriteOp } from '../ports/store.ts';
import { checkName } from './rules.ts';

export interface Versioned<T> {
  readonly id: string;
  readonly value: T;
  readonly generation: number;
}

export class Records<T> {
  private readonly base: string;

  /** `space` names the key space: lowercase words separated by '.' or '-', no '/'. */
  constructor(
    private readonly store: Store,
    space: string,
    private readonly kind: MessageType<T>,
  ) {
    if (!/^[a-z][a-z0-9.-]*$/.test(space)) {
      throw new CellplaneError('invalid', `record space "${space}" must be lowercase words`);
    }
    this.base = `${space}/`;
  }

  key(id: string): string {
    checkName('record id', id);
    return this.base + id;
  }

  async get(id: string): Promise<Versioned<T> | undefined> {
    const e = await this.store.get(this.key(id));
    return e && { id, value: decode(this.kind, e.value), generation: e.generation };
  }

  async getMany(ids: readonly string[]): Promise<(Versioned<T> | undefined)[]> {
    const entries = await this.store.getMany(ids.map((id) => this.key(id)));
    return entries.map(
      (e, i) => e && { id: ids[i]!, value: decode(this.kind, e.value), generation: e.generation },
    );
  }

  /** Ids of every record of this kind, sorted. An admin/recovery scan, not a hot path. */
  async ids(): Promise<string[]> {
    return (await this.store.scanKeys(this.base)).map((k) => k.slice(this.base.length));
  }

  /** `expectedGeneration` 0 = create only; omitted = unconditional. */
  put(id: string, value: T, expectedGeneration?: number): WriteOp {
    const op: WriteOp = { op: 'put', key: this.key(id), value: encode(this.kind, value) };
    return expectedGeneration === undefined ? op : { ...op, expectedGeneration };
  }

  delete(id: string, expectedGeneration?: number): WriteOp {
    const op: WriteOp = { op: 'delete', key: this.key(id) };
    return expectedGeneration === undefined ? op : { ...op, expectedGeneration };
  }

  check(id: string, expectedGeneration: number): WriteOp {
    return { op: 'check', key: this.key(id), expectedGeneration };
  }
}

/**
 * A versioned record kind (major 1, minor 0) whose parser trusts the shape its own module wrote:
 * only "is it a map" is checked, so a corrupt record fails loudly instead of being half-read.
 */
export function trustedRecord<T>(type: string): MessageType<T> {
  return defineMessage<T>({
    type,
    major: 1,
    minor: 0,
    parse: (b) => {
      if (!b || typeof b !== 'object') throw new CellplaneError('invalid', `${type} record is not a map`);
      return b as T;
    },
  });
}

/** An ordered index page by page (`pageSize` members at a time), in index order. */
export async function* indexPages(store: Store, index: string, pageSize: number): AsyncGenerator<string[]> {
  let after: string | undefined;
  for (;;) {
    const page = await store.list(index, { limit: pageSize, ...(after ? { after } : {}) });
    yield page.members;
    if (page.next === undefined) return;
    after = page.next;
  }
}
