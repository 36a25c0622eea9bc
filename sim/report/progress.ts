/**
 * Progress of a running simulation: simulated time / planned duration, boots, failures and the
 * recent boots/s. On a TTY it is a live cli-progress bar; elsewhere (CI logs, pipes) it
 * degrades to one plain line every `logIntervalMs` of wall time, plus one at stop().
 * The wall clock only throttles output; it is injected (`now`) so tests need no sleeps.
 */
import cliProgress from 'cli-progress';
import { formatDuration, round } from './types.ts';

export interface ProgressSample {
  /** Simulated ms since run start. */
  simTimeMs: number;
  /** Requests active so far. */
  boots: number;
  /** Requests failed so far. */
  failures: number;
}

export interface ProgressOptions {
  /** Planned simulated duration (the 100% mark). */
  durationMs: number;
  /** Where to write. Default process.stdout. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Live bar (true) or periodic lines (false). Default: `stream.isTTY`. */
  tty?: boolean;
  /** Non-TTY mode: wall ms between two lines. Default 10,000. */
  logIntervalMs?: number;
  /** Simulated ms over which the "recent" boots/s is measured. Default 5,000. */
  rateWindowMs?: number;
  /** Wall clock in ms, for the non-TTY throttle. Default Date.now. */
  now?: () => number;
}

const BAR_FORMAT =
  'sim {bar} {percentage}% | {simTime} / {duration} | boots {boots} | failed {failures} | {rate} boots/s';

export class ProgressReporter {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly stream: NodeJS.WritableStream;
  private readonly now: () => number;
  private readonly logIntervalMs: number;
  private readonly rateWindowMs: number;
  private readonly durationMs: number;
  private last: ProgressSample = { simTimeMs: 0, boots: 0, failures: 0 };
  private anchor = { simTimeMs: 0, boots: 0 };
  private rate: number | undefined;
  private lastLogAt: number | undefined;
  private stopped = false;

  constructor(o: ProgressOptions) {
    if (!(o.durationMs > 0) || !Number.isFinite(o.durationMs)) {
      throw new RangeError(`progress needs a positive finite planned duration in ms, got ${o.durationMs}`);
    }
    this.durationMs = o.durationMs;
    this.stream = o.stream ?? process.stdout;
    this.now = o.now ?? Date.now;
    this.logIntervalMs = o.logIntervalMs ?? 10_000;
    this.rateWindowMs = o.rateWindowMs ?? 5_000;
    const tty = o.tty ?? (this.stream as { isTTY?: boolean }).isTTY === true;
    if (tty) {
      this.bar = new cliProgress.SingleBar(
        { format: BAR_FORMAT, stream: this.stream, hideCursor: true, fps: 5, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.durationMs, 0, this.payload());
    }
  }

  /** Records the latest counters. Cheap: call it as often as the simulator likes. */
  update(sample: ProgressSample): void {
    if (this.stopped) return;
    this.last = sample;
    const dt = sample.simTimeMs - this.anchor.simTimeMs;
    if (dt >= this.rateWindowMs) {
      this.rate = ((sample.boots - this.anchor.boots) * 1000) / dt;
      this.anchor = { simTimeMs: sample.simTimeMs, boots: sample.boots };
    }
    if (this.bar) {
      this.bar.update(Math.min(sample.simTimeMs, this.durationMs), this.payload());
      return;
    }
    const t = this.now();
    if (this.lastLogAt === undefined || t - this.lastLogAt >= this.logIntervalMs) {
      this.lastLogAt = t;
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** Final render (always printed) and release of the terminal. Idempotent. */
  stop(final?: ProgressSample): void {
    if (this.stopped) return;
    if (final) this.update(final);
    this.stopped = true;
    if (this.bar) {
      this.bar.update(Math.min(this.last.simTimeMs, this.durationMs), this.payload());
      this.bar.stop();
    } else {
      this.stream.write(`${this.line()} (done)\n`);
    }
  }

  /** The plain line written in non-TTY mode. */
  line(): string {
    const p = this.payload();
    const pctDone = Math.min(100, Math.floor((this.last.simTimeMs / this.durationMs) * 100));
    return `sim ${p.simTime} / ${p.duration} (${pctDone}%) | boots ${p.boots} | failed ${p.failures} | ${p.rate} boots/s`;
  }

  private payload() {
    const s = this.last;
    const rate = this.rate ?? (s.simTimeMs > 0 ? (s.boots * 1000) / s.simTimeMs : 0);
    return {
      simTime: formatDuration(s.simTimeMs),
      duration: formatDuration(this.durationMs),
      boots: s.boots,
      failures: s.failures,
      rate: round(rate, 1),
    };
  }
}
