/**
 * Servers as Nova shows them per microversion (nova/api/openstack/compute/views/servers.py),
 * from a cell's instance record. Everyone here is an admin (static-token auth), so the
 * admin-only extended attributes are always shown.
 */
import { createHash } from 'node:crypto';
import type { InstanceRecord } from '../../../cells/instances.ts';
import { memberLinks } from '../http.ts';
import type { ApiVersion } from '../microversion.ts';

/** Nova's hostId: sha224 of project id + host, hex; "" when the instance has no host. */
export function hostId(projectId: string, host: string | null | undefined): string {
  if (!host) return '';
  return createHash('sha224')
    .update(projectId + host)
    .digest('hex');
}

/** Seconds-precision ISO time with a Z, as Nova prints created/updated. */
export function novaTime(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

export function serverBrief(r: Pick<InstanceRecord, 'uuid' | 'name'>, base: string) {
  return { id: r.uuid, name: r.name, links: memberLinks(base, 'servers', r.uuid) };
}

/** The status the API shows: a delete in progress is still ACTIVE/ERROR… with task `deleting`. */
export function apiStatus(r: InstanceRecord): string {
  if (r.taskState === 'rebooting') return 'REBOOT';
  if (r.taskState === 'rebooting_hard') return 'HARD_REBOOT';
  return r.status;
}

export function serverDetail(r: InstanceRecord, v: ApiVersion, base: string, az: string | null) {
  const host = r.placement?.host ?? null;
  const out: Record<string, unknown> = {
    id: r.uuid,
    name: r.name,
    status: apiStatus(r),
    tenant_id: r.projectId,
    user_id: r.userId,
    metadata: { ...r.metadata },
    hostId: hostId(r.projectId, host),
    image: {
      id: r.imageRef,
      links: [{ rel: 'bookmark', href: `${base}/images/${encodeURIComponent(r.imageRef)}` }],
    },
    flavor: v.atLeast(47)
      ? {
          vcpus: r.flavor.vcpus,
          ram: r.flavor.ram,
          disk: r.flavor.disk,
          ephemeral: r.flavor.ephemeral,
          swap: r.flavor.swap,
          original_name: r.flavor.name,
          extra_specs: { ...r.flavor.extraSpecs },
        }
      : {
          id: r.flavor.id,
          links: [{ rel: 'bookmark', href: `${base}/flavors/${encodeURIComponent(r.flavor.id)}` }],
        },
    created: novaTime(r.createdAt),
    updated: novaTime(r.updatedAt),
    addresses: {},
    accessIPv4: '',
    accessIPv6: '',
    links: memberLinks(base, 'servers', r.uuid),
    'OS-DCF:diskConfig': 'MANUAL',
    'OS-EXT-AZ:availability_zone': az ?? '',
    config_drive: '',
    key_name: null,
    'OS-SRV-USG:launched_at': r.launchedAt ? r.launchedAt.replace('Z', '').slice(0, 26) : null,
    'OS-SRV-USG:terminated_at': r.terminatedAt,
    'OS-EXT-SRV-ATTR:host': host,
    'OS-EXT-SRV-ATTR:instance_name': instanceName(r.uuid),
    'OS-EXT-SRV-ATTR:hypervisor_hostname': r.placement?.node ?? null,
    'OS-EXT-STS:task_state': r.taskState,
    'OS-EXT-STS:vm_state': r.vmState,
    'OS-EXT-STS:power_state': r.powerState,
    'os-extended-volumes:volumes_attached': [],
    security_groups: [{ name: 'default' }],
  };
  if (r.status === 'BUILD' || r.status === 'ACTIVE') out.progress = 0;
  if (r.fault && (r.status === 'ERROR' || r.status === 'DELETED')) {
    out.fault = {
      code: r.fault.code,
      created: novaTime(r.fault.created),
      message: r.fault.message,
      details: r.fault.details,
    };
  }
  if (v.atLeast(3)) {
    Object.assign(out, {
      'OS-EXT-SRV-ATTR:reservation_id': `r-${r.uuid.slice(0, 8)}`,
      'OS-EXT-SRV-ATTR:launch_index': 0,
      'OS-EXT-SRV-ATTR:hostname': r.name
        .replace(/[^A-Za-z0-9-]/g, '-')
        .toLowerCase()
        .slice(0, 63),
      'OS-EXT-SRV-ATTR:kernel_id': '',
      'OS-EXT-SRV-ATTR:ramdisk_id': '',
      'OS-EXT-SRV-ATTR:root_device_name': null,
      'OS-EXT-SRV-ATTR:user_data': null,
    });
  }
  if (v.atLeast(9)) out.locked = false;
  if (v.atLeast(16)) out.host_status = host ? 'UP' : '';
  if (v.atLeast(19)) out.description = null;
  if (v.atLeast(26)) out.tags = [];
  if (v.atLeast(63)) out.trusted_image_certificates = null;
  if (v.atLeast(71)) out.server_groups = r.group ? [r.group.uuid] : [];
  if (v.atLeast(73)) out.locked_reason = null;
  return out;
}

/** libvirt-style instance name (Nova's instance_name_template `instance-%08x` needs an int id). */
function instanceName(uuid: string): string {
  return `instance-${uuid.slice(0, 8)}`;
}
