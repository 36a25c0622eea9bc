/**
 * The heartbeat scheduler shared by every agent of a process: ONE timer on the injected Clock
 * for any number of hosts (a hashed timer wheel: entries sit in buckets of `resolutionMs`; the
 * one timer is armed for the earliest non-empty bucket). Tens of thousands of simulated hosts
 * cost one Map entry each, never a timer each.
 *
 * Cadence: an entry first beats at now + its phase (spread over the interval by a hash of its
 * key, so hosts do not all beat in the same instant; deterministic), then every `intervalMs`.
 * A beat fires at the end of its bucket, so it is late by less than `resolutionMs`. If the clock
 * jumps past several due times, the entry beats once and resumes its cadence (no burst).
 */
import { CellplaneError } from '../core/errors.ts';
import type { Clock, TimerHandle } from '../core/ports/clock.ts';
import { hashString } from '../core/rng.ts';

/** Width of a wheel bucket: the most a beat can be late. */
export const DEFAULT_HEARTBEAT_RESOLUTION_MS = 250;
/** Entries one scheduler holds at most (a process simulating more hosts is a configuration error). */
export const MAX_SCHEDULED_ENTRIES = 1_000_000;

export interface HeartbeatSchedulerOptions {
  readonly clock: Clock;
  readonly resolutionMs?: number;
  /** A beat callback threw (they must not): reported here, the schedule goes on. */
  readonly onError?: (key: string, err: unknown) => void;
}

export interface ScheduleOptions {
  /** Delay of the first beat; default: a phase in [0, intervalMs) derived from the key. */
  readonly firstInMs?: number;
}

interface Entry {
  readonly key: string;
  readonly intervalMs: number;
  readonly beat: (nowMs: number) => void;
  due: number;
  live: boolean;
}

export class HeartbeatScheduler {
  private readonly clock: Clock;
  private readonly resolutionMs: number;
  private readonly entries = new Map<string, Entry>();
  /** Bucket tick → entries due in it (removed entries stay until their tick, marked not live). */
  private readonly buckets = new Map<number, Entry[]>();
  private timer: TimerHandle | undefined;
  private timerTick = Number.POSITIVE_INFINITY;
  private closed = false;
  /** Beats delivered since creation (for tests and metrics). */
  beats = 0;
  /** Sweeps run since creation. */
  sweeps = 0;

  constructor(private readonly opts: HeartbeatSchedulerOptions) {
    this.clock = opts.clock;
    this.resolutionMs = opts.resolutionMs ?? DEFAULT_HEARTBEAT_RESOLUTION_MS;
    if (!Number.isInteger(this.resolutionMs) || this.resolutionMs < 1)
      throw new CellplaneError('invalid', `resolutionMs must be an integer >= 1, got ${this.resolutionMs}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** 1 while anything is scheduled, else 0: the whole process's heartbeat timers. */
  get armedTimers(): number {
    return this.timer ? 1 : 0;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Schedules `beat` every `intervalMs` under `key`, replacing an entry with the same key. */
  add(key: string, intervalMs: number, beat: (nowMs: number) => void, opts: ScheduleOptions = {}): void {
    if (this.closed) throw new CellplaneError('closed', 'the heartbeat scheduler is closed');
    if (!Number.isInteger(intervalMs) || intervalMs < 1)
      throw new CellplaneError('invalid', `heartbeat interval must be an integer >= 1 ms, got ${intervalMs}`);
    if (!this.entries.has(key) && this.entries.size >= MAX_SCHEDULED_ENTRIES)
      throw new CellplaneError('overloaded', `heartbeat scheduler is full (${MAX_SCHEDULED_ENTRIES})`);
    this.remove(key);
    const first = opts.firstInMs ?? hashString(key) % intervalMs;
    const entry: Entry = { key, intervalMs, beat, due: this.clock.now() + Math.max(0, first), live: true };
    this.entries.set(key, entry);
    this.place(entry);
  }

  /** Stops beating `key`. False if it was not scheduled. */
  remove(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    e.live = false;
    this.entries.delete(key);
    if (this.entries.size === 0) {
      this.buckets.clear();
      this.disarm();
    }
    return true;
  }

  /** Runs every beat that is due now (the timer calls this; tests may too). */
  sweep(): void {
    const now = this.clock.now();
    const nowTick = Math.floor(now / this.resolutionMs);
    const due: Entry[][] = [];
    for (const [tick, list] of this.buckets) {
      if (tick > nowTick) continue;
      this.buckets.delete(tick);
      due.push(list);
    }
    this.sweeps++;
    for (const list of due) for (const e of list) if (e.live && e.due <= now) this.fire(e, now);
    this.arm();
  }

  /** Drops every entry and the timer. Idempotent. */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) e.live = false;
    this.entries.clear();
    this.buckets.clear();
    this.disarm();
  }

  private fire(e: Entry, now: number): void {
    try {
      e.beat(now);
      this.beats++;
    } catch (err) {
      this.opts.onError?.(e.key, err);
    }
    if (!e.live) return; // removed by its own beat
    const missed = Math.floor((now - e.due) / e.intervalMs);
    e.due += (missed + 1) * e.intervalMs;
    this.place(e);
  }

  private place(e: Entry): void {
    const tick = Math.ceil(e.due / this.resolutionMs);
    const list = this.buckets.get(tick);
    if (list) list.push(e);
    else this.buckets.set(tick, [e]);
    if (tick < this.timerTick) this.armAt(tick);
  }

  /** Arms the one timer for the earliest bucket (after a sweep). */
  private arm(): void {
    let min = Number.POSITIVE_INFINITY;
    for (const tick of this.buckets.keys()) if (tick < min) min = tick;
    this.disarm();
    if (min !== Number.POSITIVE_INFINITY && this.entries.size > 0) this.armAt(min);
  }

  private armAt(tick: number): void {
    if (this.closed) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerTick = tick;
    const delay = Math.max(0, tick * this.resolutionMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerTick = Number.POSITIVE_INFINITY;
      this.sweep();
    }, delay);
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerTick = Number.POSITIVE_INFINITY;
  }
}
