/**
 * The asks a host agent answers, as request/reply message pairs (actors/runtime defineAsk).
 *
 * Two actor kinds serve them (see agent.ts):
 * - `host-agent`, id = host name: `status`, `reregister`, `missHeartbeats` (fault injection);
 * - `host-instance`, id = `<host>/<instance uuid>`: `spawn`, `destroy`, `reboot`, `stop`,
 *   `start`. Operations on one instance run one at a time (like Nova's instance lock); those on
 *   different instances of a host overlap, so a slow spawn never blocks the host's other work.
 */

import { defineAsk } from '../actors/runtime/protocol.ts';
import { defineMessage, type MessageType } from '../core/codec/envelope.ts';
import { asObject, boolean, int, list, number, oneOf, string } from '../core/codec/fields.ts';
import type { InstanceInfo, InstanceSpec, RebootKind } from './driver.ts';
import { parseInstanceInfo, parseInstanceSpec } from './messages.ts';

/** Instances one status reply lists at most (a host never holds more). */
export const MAX_STATUS_INSTANCES = 10_000;

function empty(type: string): MessageType<Record<string, never>> {
  return defineMessage<Record<string, never>>({ type, major: 1, minor: 0, parse: () => ({}) });
}

const instanceInfo = defineMessage<InstanceInfo>({
  type: 'cp.host.instance',
  major: 1,
  minor: 0,
  parse: (b) => parseInstanceInfo(b, 'cp.host.instance'),
});

export const spawn = defineAsk(
  defineMessage<{ spec: InstanceSpec }>({
    type: 'cp.host.spawn',
    major: 1,
    minor: 0,
    parse: (b) => {
      const o = asObject(b, 'cp.host.spawn');
      return { spec: parseInstanceSpec(asObject(o.spec, 'cp.host.spawn.spec'), 'cp.host.spawn.spec') };
    },
  }),
  instanceInfo,
);

export const destroy = defineAsk(
  empty('cp.host.destroy'),
  defineMessage<{ existed: boolean }>({
    type: 'cp.host.destroyed',
    major: 1,
    minor: 0,
    parse: (b) => ({ existed: boolean(asObject(b, 'cp.host.destroyed'), 'existed', 'cp.host.destroyed') }),
  }),
);

export const reboot = defineAsk(
  defineMessage<{ kind: RebootKind }>({
    type: 'cp.host.reboot',
    major: 1,
    minor: 0,
    parse: (b) => ({
      kind: oneOf(asObject(b, 'cp.host.reboot'), 'kind', 'cp.host.reboot', ['soft', 'hard']),
    }),
  }),
  instanceInfo,
);

export const stop = defineAsk(empty('cp.host.stop'), instanceInfo);
export const start = defineAsk(empty('cp.host.start'), instanceInfo);

export interface HostStatus {
  readonly host: string;
  readonly cell: string;
  readonly incarnation: number;
  readonly heartbeatSeq: number;
  /** Heartbeats still to be skipped (-1: until told otherwise). */
  readonly missingHeartbeats: number;
  readonly instances: readonly InstanceInfo[];
}

export const status = defineAsk(
  empty('cp.host.status'),
  defineMessage<HostStatus>({
    type: 'cp.host.status_reply',
    major: 1,
    minor: 0,
    parse: (b) => {
      const p = 'cp.host.status_reply';
      const o = asObject(b, p);
      return {
        host: string(o, 'host', p),
        cell: string(o, 'cell', p),
        incarnation: int(o, 'incarnation', p),
        heartbeatSeq: number(o, 'heartbeatSeq', p),
        missingHeartbeats: int(o, 'missingHeartbeats', p),
        instances: list(o, 'instances', p, parseInstanceInfo, { maxItems: MAX_STATUS_INSTANCES }),
      };
    },
  }),
);

/** Publishes the host's registration again; acknowledged once published. */
export const reregister = empty('cp.host.reregister');

/** Fault injection: skip the next `count` heartbeats (-1: until a count of 0 resumes them). */
export const missHeartbeats = defineMessage<{ count: number }>({
  type: 'cp.host.miss_heartbeats',
  major: 1,
  minor: 0,
  parse: (b) => ({
    count: int(asObject(b, 'cp.host.miss_heartbeats'), 'count', 'cp.host.miss_heartbeats', { min: -1 }),
  }),
});
