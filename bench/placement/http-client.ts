/**
 * The placement benchmarks' HTTP client, used for cellplane's API and the real Placement alike:
 * node:http with a keep-alive agent, the whole body read into one Buffer (no JSON parsing while
 * timing). Node's fetch (undici, web streams) was the client before; on this VM its own work added
 * about 0.5 ms to a 440 KB answer's p50 and 2 ms to its p99, which the server did not spend
 * (`fetchBody` stays so the suite can show that next to this client's numbers).
 */
import { Agent, request } from 'node:http';

export interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

export class BenchClient {
  private readonly agent = new Agent({ keepAlive: true });

  constructor(private readonly headers: Readonly<Record<string, string>>) {}

  /** One request; the reply's body whole. Rejects on a socket error, never on a status. */
  send(url: string, method = 'GET'): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers: this.headers, agent: this.agent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** GET `url`'s body; anything but a 2xx is an error that quotes the answer. */
  async get(url: string): Promise<Buffer> {
    const { status, body } = await this.send(url);
    if (status < 200 || status > 299)
      throw new Error(`GET ${url}: ${status} ${body.toString().slice(0, 300)}`);
    return body;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The same GET through Node's fetch, for the comparison the header describes. */
export async function fetchBody(url: string, headers: Readonly<Record<string, string>>): Promise<Buffer> {
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${body.toString().slice(0, 300)}`);
  return body;
}
