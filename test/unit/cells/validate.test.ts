/** What an operator may type for a cell, as a table: value → accepted or the error's gist. */
import { describe, expect, it } from 'vitest';
import { checkCellName, checkHostName, checkStore, checkTransport } from '../../../cells/validate.ts';

const cases: Array<[string, string, (v: string) => string, RegExp | 'ok']> = [
  ['name', 'cell1', checkCellName, 'ok'],
  ['name', 'eu-west_2a', checkCellName, 'ok'],
  ['name', 'a'.repeat(63), checkCellName, 'ok'],
  ['name', 'a'.repeat(64), checkCellName, /1–63 lowercase/],
  ['name', '-cell', checkCellName, /starting and ending/],
  ['name', 'cell.1', checkCellName, /not valid/],
  ['name', '0123456789abcdef0123456789abcdef', checkCellName, /looks like a UUID/], // plain-hex uuid form
  ['transport', 'cp.cell1', checkTransport, 'ok'],
  ['transport', 'nats://10.0.0.1:4222', checkTransport, 'ok'],
  ['transport', 'tls://nats.cell1.example:4222', checkTransport, 'ok'],
  ['transport', 'nats://10.0.0.1:4222,nats://10.0.0.2:4222', checkTransport, 'ok'],
  ['transport', 'nats://10.0.0.1:4222,', checkTransport, /neither a NATS URL/],
  ['transport', 'nats://10.0.0.1:4222,https://x', checkTransport, /neither a NATS URL/],
  ['transport', 'cp.>', checkTransport, /neither a NATS URL/],
  ['transport', 'cp..cell', checkTransport, /neither a NATS URL/],
  ['transport', 'https://x', checkTransport, /neither a NATS URL/],
  ['store', 'redis://127.0.0.1:6379/1', checkStore, 'ok'],
  ['store', 'rediss://user:pw@redis.example:6380', checkStore, 'ok'],
  ['store', 'memory://cell1', checkStore, 'ok'],
  ['store', '127.0.0.1:6379', checkStore, /not a Redis URL/],
  ['host', 'compute-1.rack4.example.com', checkHostName, 'ok'],
  ['host', 'compute/1', checkHostName, /not valid/],
];

describe('cell input validation', () => {
  it.each(cases)('%s %j', (_what, value, check, expected) => {
    if (expected === 'ok') expect(check(value)).toBe(value);
    else
      expect(() => check(value)).toThrow(
        expect.objectContaining({ code: 'invalid', message: expect.stringMatching(expected) }),
      );
  });
});
