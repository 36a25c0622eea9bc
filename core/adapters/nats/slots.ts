/** A counting semaphore for a consumer's in-flight jobs. */
export class Slots {
  private free: number;
  private waiters: Array<(ok: boolean | undefined) => void> = [];
  private cancelled = false;

  constructor(size: number) {
    this.free = size;
  }

  /** Resolves false when a slot was free, true after waiting for one, undefined once cancelled. */
  acquire(): Promise<boolean | undefined> {
    if (this.cancelled) return Promise.resolve(undefined);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(false);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(true);
    else this.free++;
  }

  /** Wakes every waiter with undefined; later acquires get undefined at once. */
  cancel(): void {
    this.cancelled = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }
}
