"""Bulk-loads a bench fleet (JSON from real-placement.ts) into a real Placement 8.0 database,
sqlite or MySQL/MariaDB, table by table as placement/db/sqlalchemy/models.py defines them. The
API must have started once (it syncs the standard resource classes and traits) and the custom
traits must exist (created through the API). One transaction; rows go in chunks of CHUNK_ROWS.

Usage: load_fleet.py sqlite PATH FLEET_JSON
       load_fleet.py mysql HOST PORT DB FLEET_JSON   (user root, no password; needs pymysql)
"""
import json
import sys

NOW = '2026-01-01 00:00:00'
# Rows per executemany: pymysql turns one call into multi-row INSERTs (bounded by
# max_allowed_packet, 16 MiB by default); sqlite just loops.
CHUNK_ROWS = 5000


def connect(argv):
    """(connection, placeholder) for `sqlite PATH` or `mysql HOST PORT DB`; rest of argv."""
    if argv[0] == 'sqlite':
        import sqlite3
        return sqlite3.connect(argv[1]), '?', argv[2:]
    if argv[0] == 'mysql':
        import pymysql
        db = pymysql.connect(host=argv[1], port=int(argv[2]), user='root', database=argv[3],
                             autocommit=False, charset='utf8mb4')
        with db.cursor() as cur:
            # Bulk load into tables the loader alone writes: skip per-row checks.
            cur.execute('SET unique_checks=0, foreign_key_checks=0')
        return db, '%s', argv[4:]
    sys.exit(f'unknown database {argv[0]!r}: expected sqlite PATH or mysql HOST PORT DB')


def insert(cur, ph, table, columns, rows):
    sql = (f'INSERT INTO {table} ({", ".join(columns)}) VALUES '
           f'({",".join([ph] * len(columns))})')
    rows = list(rows)
    for i in range(0, len(rows), CHUNK_ROWS):
        cur.executemany(sql, rows[i:i + CHUNK_ROWS])


def names_to_ids(cur, table):
    cur.execute(f'SELECT name, id FROM {table}')
    return dict(cur.fetchall())


def load(cur, ph, fleet):
    providers = fleet['providers']
    rc_ids = names_to_ids(cur, 'resource_classes')
    trait_ids = names_to_ids(cur, 'traits')
    ids = {p['uuid']: n + 1 for n, p in enumerate(providers)}
    root = {}
    for p in providers:  # parents come before children
        root[p['uuid']] = root[p['parent']] if p['parent'] else p['uuid']
    insert(cur, ph, 'resource_providers',
           ('id', 'uuid', 'name', 'generation', 'root_provider_id', 'parent_provider_id',
            'created_at'),
           ((ids[p['uuid']], p['uuid'], p['name'], 1, ids[root[p['uuid']]],
             ids[p['parent']] if p['parent'] else None, NOW) for p in providers))
    insert(cur, ph, 'inventories',
           ('resource_provider_id', 'resource_class_id', 'total', 'reserved', 'min_unit',
            'max_unit', 'step_size', 'allocation_ratio', 'created_at'),
           ((ids[p['uuid']], rc_ids[i['rc']], i['total'], i['reserved'], 1, i['maxUnit'], 1,
             i['allocationRatio'], NOW) for p in providers for i in p['inventories']))
    insert(cur, ph, 'resource_provider_traits',
           ('trait_id', 'resource_provider_id', 'created_at'),
           ((trait_ids[t], ids[p['uuid']], NOW) for p in providers for t in p['traits']))
    agg_ids = {a: n + 1 for n, a in enumerate(fleet['aggregates'])}
    insert(cur, ph, 'placement_aggregates', ('id', 'uuid', 'created_at'),
           ((i, a, NOW) for a, i in agg_ids.items()))
    insert(cur, ph, 'resource_provider_aggregates',
           ('resource_provider_id', 'aggregate_id', 'created_at'),
           ((ids[p['uuid']], agg_ids[a], NOW) for p in providers for a in p['aggregates']))
    insert(cur, ph, 'projects', ('id', 'external_id', 'created_at'), [(1, 'bench', NOW)])
    insert(cur, ph, 'users', ('id', 'external_id', 'created_at'), [(1, 'bench', NOW)])
    insert(cur, ph, 'consumers',
           ('id', 'uuid', 'project_id', 'user_id', 'generation', 'created_at'),
           ((n + 1, c['uuid'], 1, 1, 1, NOW) for n, c in enumerate(fleet['consumers'])))
    insert(cur, ph, 'allocations',
           ('resource_provider_id', 'consumer_id', 'resource_class_id', 'used', 'created_at'),
           ((ids[rp], c['uuid'], rc_ids[rc], n, NOW) for c in fleet['consumers']
            for rp, by_rc in c['allocations'].items() for rc, n in by_rc.items()))


def main(argv):
    db, ph, rest = connect(argv)
    if len(rest) != 1:
        sys.exit(__doc__)
    with open(rest[0]) as f:
        fleet = json.load(f)
    cur = db.cursor()
    try:
        load(cur, ph, fleet)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1:])
