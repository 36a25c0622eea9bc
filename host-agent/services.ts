/**
 * The operator's word on each host's compute service (Nova's `os-services`: disabled with a
 * reason, forced down), one durable record per host in the coordinator: `services/<host>`. The
 * compute API writes them (deploy/host-directory.ts, CAS-updated); the cell's service monitor
 * (service-monitor.ts) watches them and keeps a blocked host from new instances.
 */
import { defineMessage } from '../core/codec/envelope.ts';
import { asObject, boolean, int, optString, string } from '../core/codec/fields.ts';

/** Key space of the service records in the coordinator: `services/<host>`. */
export const SERVICES_PREFIX = 'services/';
export const serviceKey = (host: string) => SERVICES_PREFIX + host;

export interface ServiceRecord {
  readonly host: string;
  readonly disabled: boolean;
  readonly disabledReason?: string;
  readonly forcedDown: boolean;
  readonly updatedAtMs: number;
}

/** The record's wire type keeps its first name (`cp.deploy.service`): records in etcd carry it. */
export const serviceRecordMessage = defineMessage<ServiceRecord>({
  type: 'cp.deploy.service',
  major: 1,
  minor: 0,
  parse(body) {
    const p = 'cp.deploy.service';
    const o = asObject(body, p);
    const reason = optString(o, 'disabledReason', p);
    return {
      host: string(o, 'host', p),
      disabled: boolean(o, 'disabled', p),
      ...(reason === undefined ? {} : { disabledReason: reason }),
      forcedDown: boolean(o, 'forcedDown', p),
      updatedAtMs: int(o, 'updatedAtMs', p),
    };
  },
});

/** True when the record keeps its host from new instances (Nova's ComputeFilter). */
export const blocksHost = (r: ServiceRecord | undefined) => r !== undefined && (r.disabled || r.forcedDown);
