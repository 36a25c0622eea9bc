/** Which member of a real etcd cluster leads (tests that kill the leader). */

/** The etcd member that leads, by its client URL (each member reports the leader's id). */
export async function etcdLeader(urls: readonly string[]): Promise<string> {
  for (const url of urls) {
    const r = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}' }).catch(
      () => undefined,
    );
    if (!r?.ok) continue;
    const s = (await r.json()) as { header: { member_id: string }; leader: string };
    if (s.leader === s.header.member_id) return url;
  }
  throw new Error(`no etcd member of ${urls.join(',')} says it leads`);
}
