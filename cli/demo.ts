import type { Command } from 'commander';
import { runActorDemo } from '../actors/demo.ts';
import { MemoryBus } from '../core/adapters/memory/bus.ts';
import { NatsBus } from '../core/adapters/nats/bus.ts';
import { systemClock } from '../core/adapters/system/clock.ts';
import type { Bus } from '../core/ports/bus.ts';

function positiveInt(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new Error(`${name} must be an integer from 1 to ${max}, got "${value}"`);
    return n;
  };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run the actor runtime demo: counter actors, tell/ask, passivation, a supervised restart, drain',
    )
    .option('--actors <n>', 'counter actors to create', positiveInt('--actors', 1_000_000), 10_000)
    .option('--messages <n>', 'messages to send in all', positiveInt('--messages', 10_000_000), 100_000)
    .option('--nats <url>', 'run on a real NATS server instead of the embedded in-process bus')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { actors: number; messages: number; nats?: string; json?: boolean }) => {
      const bus: Bus = o.nats
        ? await NatsBus.connect({ servers: o.nats, name: 'cellplane-demo', prefix: `demo${process.pid}` })
        : new MemoryBus({ clock: systemClock });
      const where = o.nats ? `NATS at ${o.nats}` : 'the embedded in-process bus';
      console.error(`cellplane demo: ${o.actors} actors, ${o.messages} messages on ${where}`);
      try {
        const summary = await runActorDemo({
          bus,
          clock: systemClock,
          actors: o.actors,
          messages: o.messages,
          log: (line) => console.error(`  ${line}`),
        });
        if (o.json) console.log(JSON.stringify(summary, null, 2));
        else {
          const t = summary.timingsMs;
          console.log(
            [
              `${summary.ok ? 'OK' : 'FAILED'}: ${summary.told} told + ${summary.asked} asked to ${summary.actors} actors`,
              `  activations ${summary.activations}, passivations ${summary.passivations}, supervised restarts ${summary.restarts}`,
              `  counts: expected ${summary.expectedTotal}, persisted ${summary.persistedTotal}`,
              `  time: send ${t.send} ms, read back ${t.readBack} ms, passivate ${t.passivate} ms, restart ${t.restart} ms, shutdown ${t.shutdown} ms, total ${t.total} ms`,
              `  throughput: ${Math.round((summary.messages / Math.max(1, t.send)) * 1000).toLocaleString('en-US')} messages/s`,
            ].join('\n'),
          );
        }
        if (!summary.ok) process.exitCode = 2;
      } finally {
        await bus.close();
      }
    });
}
