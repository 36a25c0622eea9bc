/** Fixtures for the host-agent tests: fake host specs, instance specs and a bus recorder. */
import { decode, type MessageType } from '../../../core/codec/envelope.ts';
import type { Bus, Subscription } from '../../../core/ports/bus.ts';
import type { InstanceSpec } from '../../../host-agent/driver.ts';
import type { FakeHostSpec } from '../../../host-agent/drivers/fake-host.ts';

/** A small compute node: 8 VCPU at ratio 2 (capacity 16), 16 GiB - 512 MiB reserved, 100 GB. */
export function smallHost(hostname: string, extra: Partial<FakeHostSpec> = {}): FakeHostSpec {
  return {
    hostname,
    vcpus: 8,
    memoryMb: 16_384,
    diskGb: 100,
    allocationRatios: { vcpu: 2 },
    traits: ['HW_CPU_X86_AVX2'],
    ...extra,
  };
}

let counter = 0;
/** An instance spec with a fresh, readable UUID-like id. */
export function vm(resources: Record<string, number>, devices: InstanceSpec['devices'] = []): InstanceSpec {
  counter++;
  const uuid = `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
  return { uuid, resources, devices };
}

/** Collects the decoded messages of one type published on a subject. */
export class Recorder<T> {
  readonly items: T[] = [];
  private sub: Subscription | undefined;

  static async on<T>(bus: Bus, subject: string, type: MessageType<T>): Promise<Recorder<T>> {
    const r = new Recorder<T>();
    r.sub = await bus.subscribe(subject, (msg) => {
      r.items.push(decode(type, msg.data));
    });
    return r;
  }

  async close(): Promise<void> {
    await this.sub?.unsubscribe();
  }
}

/** Polls `check` until it returns true or `deadlineMs` of real time passes (real-server tests). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 10_000) {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
