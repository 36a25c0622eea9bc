import type { Clock, TimerHandle } from '../../ports/clock.ts';

interface RealHandle extends TimerHandle {
  timer: NodeJS.Timeout;
}

/** Wall-clock time and Node timers. Timers are unref'd: a pending timer never keeps a process alive. */
export class SystemClock implements Clock {
  private nextId = 1;

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    const handle: RealHandle = { id: this.nextId++, timer };
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout((handle as RealHandle).timer);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

export const systemClock: Clock = new SystemClock();
