/**
 * core/adapters/redis/connection.ts against a scripted RESP server: a command in flight when
 * the connection drops, followed by a reconnect that succeeds at once, is dropped by ioredis
 * (no resend, by design) — the command timeout must still settle it, as `unavailable`, so a
 * caller retries instead of waiting forever.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../core/adapters/redis/store.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/** Answers INFO/PING/CLIENT; swallows the first HMGET and closes that connection; nil for the rest. */
async function scriptedRedis(): Promise<{ port: number; hmgets: () => number }> {
  let hmgets = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      // Each command is a RESP array; split on the array headers we have whole.
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        const parts: string[] = [];
        let at = m[0].length;
        for (let i = 0; i < Number(m[1]); i++) {
          const h = /^\$(\d+)\r\n/.exec(buf.slice(at));
          if (!h) return;
          const len = Number(h[1]);
          if (buf.length < at + h[0].length + len + 2) return;
          parts.push(buf.slice(at + h[0].length, at + h[0].length + len));
          at += h[0].length + len + 2;
        }
        buf = buf.slice(at);
        const cmd = parts[0]!.toUpperCase();
        if (cmd === 'INFO') s.write(bulk('# Server\r\nloading:0\r\n'));
        else if (cmd === 'HMGET') {
          if (++hmgets === 1) {
            s.destroy(); // swallowed: no reply, connection gone
            return;
          }
          s.write('*2\r\n$-1\r\n$-1\r\n');
        } else s.write('+OK\r\n'.replace('OK', cmd === 'PING' ? 'PONG' : 'OK'));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as { port: number }).port, hmgets: () => hmgets };
}

describe('RedisStore: a command dropped with its connection', () => {
  it('fails unavailable after the command timeout, and the next command works', async () => {
    const redis = await scriptedRedis();
    const store = await RedisStore.open({
      url: `redis://127.0.0.1:${redis.port}`,
      prefix: 't',
      commandTimeoutMs: 300,
    });
    closers.push(() => store.close());
    const err = await store.get('k').then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    );
    expect(redis.hmgets()).toBe(1);
    expect(err?.code).toBe('unavailable');
    expect(err?.message).toMatch(/timed out/i);
    expect(await store.get('k')).toBeUndefined();
  });
});
