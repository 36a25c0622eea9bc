/**
 * sim/realtime/proxy.ts on loopback sockets: bytes pass both ways; `cut()` resets the connections
 * through it and every new one until `heal()`; `url()` swaps in the proxy's address.
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CuttableProxy, hostPort } from '../../../sim/realtime/proxy.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function echoServer(): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return server;
}

async function through(proxy: CuttableProxy): Promise<Socket> {
  const s = createConnection({ host: '127.0.0.1', port: proxy.port });
  s.on('error', () => {});
  closers.push(async () => {
    s.destroy();
  });
  await once(s, 'connect');
  return s;
}

/** Resolves on 'close' (events.once would reject on the ECONNRESET 'error' that comes first). */
const closedOf = (s: Socket) => new Promise<void>((resolve) => s.once('close', () => resolve()));

async function echo(s: Socket, text: string): Promise<string> {
  s.write(text);
  const [data] = await once(s, 'data');
  return String(data);
}

describe('CuttableProxy', () => {
  it('forwards, cuts live and new connections, heals', async () => {
    const server = await echoServer();
    const port = (server.address() as { port: number }).port;
    const proxy = await CuttableProxy.start('t', { host: '127.0.0.1', port });
    closers.push(() => proxy.close());

    const a = await through(proxy);
    expect(await echo(a, 'hello')).toBe('hello');

    const closed = closedOf(a);
    proxy.cut();
    expect(proxy.isCut).toBe(true);
    await closed; // the live connection is reset

    const b = createConnection({ host: '127.0.0.1', port: proxy.port });
    b.on('error', () => {});
    await closedOf(b); // a new one is reset at once
    expect(proxy.stats.refused).toBe(1);

    proxy.heal();
    const c = await through(proxy);
    expect(await echo(c, 'again')).toBe('again');
    expect(proxy.stats.accepted).toBe(2);
  });

  it('rewrites URLs to its own address, keeping scheme and path', async () => {
    const proxy = await CuttableProxy.start('u', { host: '127.0.0.1', port: 1 });
    closers.push(() => proxy.close());
    expect(proxy.url('nats://127.0.0.1:4222')).toBe(`nats://127.0.0.1:${proxy.port}`);
    expect(proxy.url('http://10.0.0.6:2379')).toBe(`http://127.0.0.1:${proxy.port}`);
    expect(proxy.url('redis://127.0.0.1:6379/0')).toBe(`redis://127.0.0.1:${proxy.port}/0`);
    expect(hostPort('redis://10.1.2.3/0')).toEqual({ host: '10.1.2.3', port: 6379 });
    expect(hostPort('http://h:2379')).toEqual({ host: 'h', port: 2379 });
    // One proxy per server: a cluster's list is refused, not half used.
    expect(() => hostPort('nats://a:1,nats://b:2')).toThrow(/one URL per service, not a cluster/);
  });
});
