/**
 * The `cellplane` command line. Each command lives in its own module under cli/ and is
 * registered here; `cellplane --help` lists them as they arrive.
 */
import { Command } from 'commander';
import { registerCell } from './cell-command.ts';
import { registerDemo } from './demo.ts';
import { registerPlacement } from './placement-command.ts';
import { registerRoles } from './roles-command.ts';
import { registerServices } from './services-command.ts';
import { registerSim } from './sim-command.ts';
import { registerUp } from './up-command.ts';

const program = new Command()
  .name('cellplane')
  .description(
    'Scale-out compute control plane: cells, placement, scheduling and host agents on NATS, etcd and Redis.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run "cellplane --help" for usage)');

registerCell(program);
registerDemo(program);
registerPlacement(program);
registerRoles(program);
registerServices(program);
registerSim(program);
registerUp(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`cellplane: ${message}`);
  process.exitCode = 1;
});
