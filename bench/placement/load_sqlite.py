"""Bulk-loads a bench fleet (JSON from real-placement.ts) into a real Placement 8.0 sqlite
database, table by table as placement/db/sqlalchemy/models.py defines them. The API must have
started once (it syncs the standard resource classes and traits) and the custom traits must
exist (created through the API). Usage: load_sqlite.py DB FLEET_JSON
"""
import json
import sqlite3
import sys

NOW = '2026-01-01 00:00:00'


def main(db_path, fleet_path):
    with open(fleet_path) as f:
        fleet = json.load(f)
    db = sqlite3.connect(db_path)
    cur = db.cursor()
    rc_ids = dict(cur.execute('SELECT name, id FROM resource_classes'))
    trait_ids = dict(cur.execute('SELECT name, id FROM traits'))
    ids = {p['uuid']: n + 1 for n, p in enumerate(fleet['providers'])}
    root = {}
    for p in fleet['providers']:
        root[p['uuid']] = root[p['parent']] if p['parent'] else p['uuid']
    cur.executemany(
        'INSERT INTO resource_providers (id, uuid, name, generation, root_provider_id,'
        ' parent_provider_id, created_at) VALUES (?,?,?,?,?,?,?)',
        [(ids[p['uuid']], p['uuid'], p['name'], 1, ids[root[p['uuid']]],
          ids[p['parent']] if p['parent'] else None, NOW) for p in fleet['providers']])
    cur.executemany(
        'INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved,'
        ' min_unit, max_unit, step_size, allocation_ratio, created_at) VALUES (?,?,?,?,?,?,?,?,?)',
        [(ids[p['uuid']], rc_ids[i['rc']], i['total'], i['reserved'], 1, i['maxUnit'], 1,
          i['allocationRatio'], NOW) for p in fleet['providers'] for i in p['inventories']])
    cur.executemany(
        'INSERT INTO resource_provider_traits (trait_id, resource_provider_id, created_at)'
        ' VALUES (?,?,?)',
        [(trait_ids[t], ids[p['uuid']], NOW) for p in fleet['providers'] for t in p['traits']])
    agg_ids = {a: n + 1 for n, a in enumerate(fleet['aggregates'])}
    cur.executemany('INSERT INTO placement_aggregates (id, uuid, created_at) VALUES (?,?,?)',
                    [(i, a, NOW) for a, i in agg_ids.items()])
    cur.executemany(
        'INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id, created_at)'
        ' VALUES (?,?,?)',
        [(ids[p['uuid']], agg_ids[a], NOW) for p in fleet['providers'] for a in p['aggregates']])
    cur.execute("INSERT INTO projects (id, external_id, created_at) VALUES (1, 'bench', ?)", (NOW,))
    cur.execute("INSERT INTO users (id, external_id, created_at) VALUES (1, 'bench', ?)", (NOW,))
    cur.executemany(
        'INSERT INTO consumers (id, uuid, project_id, user_id, generation, created_at)'
        ' VALUES (?,?,1,1,1,?)',
        [(n + 1, c['uuid'], NOW) for n, c in enumerate(fleet['consumers'])])
    cur.executemany(
        'INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used,'
        ' created_at) VALUES (?,?,?,?,?)',
        [(ids[rp], c['uuid'], rc_ids[rc], n, NOW) for c in fleet['consumers']
         for rp, by_rc in c['allocations'].items() for rc, n in by_rc.items()])
    db.commit()
    db.close()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
