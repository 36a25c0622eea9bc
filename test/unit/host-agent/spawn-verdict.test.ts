/**
 * What a failed spawn means to the conductor (host-agent/driver.ts `spawnVerdict`), for every
 * error a spawn ask can come back with — as thrown, and after crossing the bus (a wire error
 * rebuilt by `fromWire` keeps code and details, not the class).
 */
import { describe, expect, it } from 'vitest';
import { CellplaneError, fromWire } from '../../../core/errors.ts';
import { type SpawnVerdict, spawnFailure, spawnVerdict } from '../../../host-agent/driver.ts';

const cases: readonly [string, CellplaneError, SpawnVerdict][] = [
  // the driver's verdicts
  ['the host is full by its own books (capacity)', spawnFailure('capacity', 'no room'), 'reschedule'],
  ['the hypervisor failed transiently', spawnFailure('hypervisor', 'libvirt hiccup'), 'reschedule'],
  ['the spec can never run here', spawnFailure('invalidSpec', 'unknown device'), 'fatal'],
  ['the uuid exists here with another spec', spawnFailure('duplicate', 'other spec'), 'fatal'],
  // a second spawn while the first still builds: neither failure nor success yet
  [
    'the same spawn is still running on the host',
    spawnFailure('duplicate', 'being built', { inProgress: true }),
    'retryLater',
  ],
  // what the bus said
  [
    'no agent answers for the host (it is gone)',
    new CellplaneError('noResponders', 'no responders'),
    'reschedule',
  ],
  ['no answer in time', new CellplaneError('timeout', 'ask timed out'), 'retryLater'],
  ['a backing service is unavailable', new CellplaneError('unavailable', 'bus closing'), 'retryLater'],
  ['the agent is overloaded', new CellplaneError('overloaded', 'mailbox full'), 'retryLater'],
  // anything else is not the host's to retry
  ['a host the agents do not serve', new CellplaneError('notFound', 'no such host'), 'fatal'],
  ['a bug', new CellplaneError('internal', 'boom'), 'fatal'],
];

describe('spawnVerdict', () => {
  it.each(cases.map(([what, err, verdict]) => ({ what, err, verdict })))(
    '$what → $verdict',
    ({ err, verdict }) => {
      expect(spawnVerdict(err)).toBe(verdict);
      expect(spawnVerdict(fromWire(err.toWire()))).toBe(verdict);
    },
  );

  it('an error that is not a CellplaneError is fatal', () => {
    expect(spawnVerdict(new Error('TypeError in a driver'))).toBe('fatal');
  });
});
