/**
 * A Store opened on its first use: for a process that may never touch it (a scheduler replica
 * wired with the cell registry, whose instance mappings live in the API's store) or that must
 * start while it is down. `open` is called again after it failed; `close` closes it only if it
 * was opened.
 */
import type { CommitResult, ListOptions, ListPage, Store, StoreEntry, WriteOp } from '../ports/store.ts';

export function lazyStore(open: () => Promise<Store>): Store {
  let opened: Promise<Store> | undefined;
  const store = (): Promise<Store> => {
    if (!opened) {
      const p = open();
      opened = p;
      p.catch(() => {
        if (opened === p) opened = undefined; // tried again on the next call
      });
    }
    return opened;
  };
  return {
    get: async (key: string): Promise<StoreEntry | undefined> => (await store()).get(key),
    getMany: async (keys: readonly string[]) => (await store()).getMany(keys),
    commit: async (ops: readonly WriteOp[]): Promise<CommitResult> => (await store()).commit(ops),
    list: async (index: string, opts: ListOptions): Promise<ListPage> => (await store()).list(index, opts),
    count: async (index: string) => (await store()).count(index),
    scanKeys: async (prefix: string) => (await store()).scanKeys(prefix),
    async close() {
      const p = opened;
      opened = undefined;
      await (await p?.catch(() => undefined))?.close();
    },
  };
}
