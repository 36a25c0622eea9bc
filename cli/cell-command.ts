/**
 * `cellplane cell create|list|show|update|disable|enable|delete|repair`: the cell mappings
 * in etcd (cells/lifecycle.ts); show, delete and repair also read the instance mappings in the
 * API's Redis (`--redis`). Tables for humans, `--json` for scripts; every failure
 * is an Error with an actionable message, which cli/main.ts prints with exit code 1.
 */
import type { Command } from 'commander';
import { moveLegacyInstanceMappings, moveReportLine } from '../cells/instance-mappings-move.ts';
import { CellRegistry } from '../cells/lifecycle.ts';
import type { CellRecord } from '../cells/mapping.ts';
import type { MappingCounts } from '../cells/memberships.ts';
import { EtcdCoordinator } from '../core/adapters/etcd/coordinator.ts';
import { redactUrl } from '../core/adapters/redis/connection.ts';
import { RedisStore } from '../core/adapters/redis/store.ts';
import { systemClock } from '../core/adapters/system/clock.ts';
import { hasCode } from '../core/errors.ts';
import type { Store } from '../core/ports/store.ts';
import { lazyStore } from '../core/stores/lazy-store.ts';

export const DEFAULT_ETCD_PREFIX = '/cellplane';

interface ConnOptions {
  etcd?: string;
  redis?: string;
  prefix: string;
  json?: boolean;
}

/**
 * The API layer's store, where the instance mappings live (keys under `<prefix>.api`, as
 * `cellplane api` names them: deploy/cluster.ts), opened only by a command that counts or moves
 * them (show, delete, repair).
 */
function apiStoreOf(o: ConnOptions): Store {
  return lazyStore(async () => {
    const url = o.redis ?? process.env.CELLPLANE_REDIS_URL;
    if (!url) {
      throw new Error(
        "the instance mappings live in the API's Redis: pass --redis URL or set CELLPLANE_REDIS_URL (the API's `redis`)",
      );
    }
    try {
      return await RedisStore.open({ url, prefix: `${o.prefix.replace(/^\/+/, '')}.api` });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`cannot reach the API's Redis at ${redactUrl(url)} (${why}); is it running?`);
    }
  });
}

async function withCells<T>(
  o: ConnOptions,
  run: (cells: CellRegistry, coord: EtcdCoordinator) => Promise<T>,
): Promise<T> {
  const url = o.etcd ?? process.env.CELLPLANE_ETCD_URL;
  if (!url) {
    throw new Error(
      'no etcd to talk to: pass --etcd URL or set CELLPLANE_ETCD_URL ("cellplane services up" starts one and prints it)',
    );
  }
  const coord = new EtcdCoordinator({ hosts: url.split(','), prefix: o.prefix });
  const mappingStore = apiStoreOf(o);
  try {
    return await run(new CellRegistry(coord, { clock: systemClock, mappingStore }), coord);
  } catch (err) {
    if (hasCode(err, 'unavailable') || hasCode(err, 'timeout')) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(
        `cannot reach etcd at ${url} (${why}); is it running? ("cellplane services up" starts one)`,
      );
    }
    throw err;
  } finally {
    await mappingStore.close();
    await coord.close();
  }
}

const status = (c: CellRecord) => (c.state === 'deleting' ? 'deleting' : c.disabled ? 'disabled' : 'enabled');

function toJson(c: CellRecord, mappings?: MappingCounts): Record<string, unknown> {
  const { createdAt, updatedAt, ...rest } = c;
  return {
    ...rest,
    createdAt: new Date(createdAt).toISOString(),
    updatedAt: new Date(updatedAt).toISOString(),
    ...(mappings ? { mappings } : {}),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((v, i) => v.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const asJson = (v: unknown) => JSON.stringify(v, null, 2);

/** The cells as a table (or JSON). */
export function formatCells(cells: CellRecord[], json: boolean | undefined): string {
  if (json) return asJson(cells.map((c) => toJson(c)));
  if (cells.length === 0) return 'no cells (create one with "cellplane cell create NAME --store URL")';
  const header = ['NAME', 'UUID', 'STATUS', 'TRANSPORT', 'STORE', 'REASON'];
  const rows = cells.map((c) => [c.name, c.uuid, status(c), c.transport, c.store, c.disabledReason ?? '']);
  return table([header, ...rows]);
}

/** One cell as "key: value" lines (or JSON), with its mapping counts when given. */
export function formatCell(c: CellRecord, json: boolean | undefined, mappings?: MappingCounts): string {
  if (json) return asJson(toJson(c, mappings));
  const counts = mappings
    ? [
        ['hosts:', String(mappings.hosts)],
        ['instances:', String(mappings.instances)],
      ]
    : [];
  return table([
    ['name:', c.name],
    ['uuid:', c.uuid],
    ['status:', status(c) + (c.disabledReason ? ` (${c.disabledReason})` : '')],
    ['transport:', c.transport],
    ['store:', c.store],
    ...counts,
    ['created:', new Date(c.createdAt).toISOString()],
    ['updated:', new Date(c.updatedAt).toISOString()],
  ]);
}

/** Adds the options every `cell` subcommand takes. */
function conn(cmd: Command): Command {
  return cmd
    .option('--etcd <url>', 'etcd client URL(s), comma-separated (default: $CELLPLANE_ETCD_URL)')
    .option('--prefix <prefix>', 'key prefix of this deployment in etcd', DEFAULT_ETCD_PREFIX)
    .option(
      '--redis <url>',
      "the API's Redis, where instance mappings live (show, delete, repair; default: $CELLPLANE_REDIS_URL)",
    )
    .option('--json', 'print JSON instead of a table');
}

export function registerCell(program: Command): void {
  const cell = program
    .command('cell')
    .description('create, list, show, disable, enable and delete cells (the cell mappings in etcd)');

  conn(cell.command('create <name>'))
    .description('add a cell; it takes instances at once unless created with --disabled')
    .option('--transport <url-or-prefix>', 'NATS URL of the cell, or its subject prefix (default: cp.<name>)')
    .option('--store <url>', 'Redis URL of the cell (default: $CELLPLANE_REDIS_URL)')
    .option('--disabled', 'create it disabled (no new instances until enabled)')
    .option('--reason <text>', 'why it is disabled (with --disabled)')
    .action(
      async (
        name: string,
        o: ConnOptions & { transport?: string; store?: string; disabled?: boolean; reason?: string },
      ) => {
        const store = o.store ?? process.env.CELLPLANE_REDIS_URL;
        if (!store) {
          throw new Error(
            '--store is required (a Redis URL such as redis://127.0.0.1:6379/1), or set CELLPLANE_REDIS_URL',
          );
        }
        const spec = { name, transport: o.transport ?? `cp.${name}`, store, disabled: !!o.disabled };
        const c = await withCells(o, (cells) =>
          cells.create(o.reason ? { ...spec, disabledReason: o.reason } : spec),
        );
        console.log(formatCell(c, o.json));
      },
    );

  conn(cell.command('list'))
    .description('list the cells')
    .action(async (o: ConnOptions) =>
      console.log(formatCells(await withCells(o, (cells) => cells.list()), o.json)),
    );

  conn(cell.command('show <cell>'))
    .description('show one cell (by name or uuid) with how many hosts and instances map to it')
    .action(async (ref: string, o: ConnOptions) => {
      const [c, counts] = await withCells(o, async (cells) => {
        const found = await cells.get(ref);
        return [found, await cells.memberships.count(found.uuid)] as const;
      });
      console.log(formatCell(c, o.json, counts));
    });

  conn(cell.command('update <cell>'))
    .description("change a cell's transport or store URL")
    .option('--transport <url-or-prefix>', 'new NATS URL or subject prefix')
    .option('--store <url>', 'new Redis URL')
    .action(async (ref: string, o: ConnOptions & { transport?: string; store?: string }) => {
      if (o.transport === undefined && o.store === undefined)
        throw new Error('nothing to update: pass --transport and/or --store');
      const urls = {
        ...(o.transport ? { transport: o.transport } : {}),
        ...(o.store ? { store: o.store } : {}),
      };
      console.log(formatCell(await withCells(o, (cells) => cells.updateUrls(ref, urls)), o.json));
    });

  conn(cell.command('disable <cell>'))
    .description('stop placing new instances in the cell; it keeps serving the ones it has')
    .option('--reason <text>', 'why (shown by list and show)')
    .action(async (ref: string, o: ConnOptions & { reason?: string }) => {
      console.log(formatCell(await withCells(o, (cells) => cells.disable(ref, o.reason)), o.json));
    });

  conn(cell.command('enable <cell>'))
    .description('let the cell take new instances again')
    .action(async (ref: string, o: ConnOptions) =>
      console.log(formatCell(await withCells(o, (cells) => cells.enable(ref)), o.json)),
    );

  conn(cell.command('delete <cell>'))
    .description('remove a cell; refused while hosts or instances are mapped to it')
    .action(async (ref: string, o: ConnOptions) => {
      const c = await withCells(o, (cells) => cells.delete(ref));
      console.log(o.json ? asJson({ deleted: toJson(c) }) : `deleted cell "${c.name}" (${c.uuid})`);
    });

  conn(cell.command('repair'))
    .description(
      "free cell names left claimed by an interrupted delete, and move instance mappings an earlier version kept in etcd into the API's Redis (safe to run any time)",
    )
    .action(async (o: ConnOptions) => {
      const [freed, moved] = await withCells(o, async (cells, coord) => [
        await cells.repair(),
        await moveLegacyInstanceMappings(coord, cells.memberships.instances),
      ]);
      const lines = [
        ...(freed.length ? [`freed cell name(s): ${freed.join(', ')}`] : []),
        ...(moveReportLine(moved) ? [moveReportLine(moved)] : []),
      ];
      console.log(o.json ? asJson({ freed, mappings: moved }) : lines.join('\n') || 'nothing to repair');
      if (moved.conflicts.length > 0) process.exitCode = 1;
    });
}
