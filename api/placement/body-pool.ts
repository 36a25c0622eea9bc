/**
 * Reusable response buffers for large bodies (GET /allocation_candidates: ~450 KB at limit=1000).
 * A fresh Buffer per request is external memory to V8, and at that rate V8 scavenged about every
 * 9 requests for "external memory pressure" (1.5–6 ms each with 10,000 providers loaded: the
 * p90/p99 tail over HTTP). A body goes back to the pool when its response has finished — the
 * bytes are then in the kernel's socket buffer — and never when the response was aborted.
 */
export class BodyPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    /** Buffers kept at most (one per response in flight is enough). */
    private readonly keep = 8,
    /** Smaller bodies are not worth pooling. */
    private readonly minBytes = 64 * 1024,
  ) {}

  /** A buffer of at least `bytes` (its contents are garbage). */
  take(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.byteLength;
      if (len >= bytes && (best < 0 || len < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return Buffer.from(this.free.splice(best, 1)[0]!);
    // Its own ArrayBuffer (never a slice of Node's shared pool), so it can be handed back whole.
    return Buffer.allocUnsafeSlow(Math.max(bytes, this.minBytes));
  }

  /** Hands `b` (or a view of it) back; the caller must not touch it afterwards. */
  give(b: Uint8Array): void {
    const ab = b.buffer;
    if (!(ab instanceof ArrayBuffer) || ab.byteLength < this.minBytes || this.free.includes(ab)) return;
    if (this.free.length >= this.keep) {
      // Keep the biggest: a body only grows with the fleet.
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++)
        if (this.free[i]!.byteLength < this.free[smallest]!.byteLength) smallest = i;
      if (this.free[smallest]!.byteLength >= ab.byteLength) return;
      this.free.splice(smallest, 1);
    }
    this.free.push(ab);
  }

  get size(): number {
    return this.free.length;
  }
}
