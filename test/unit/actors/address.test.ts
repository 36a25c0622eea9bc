import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actorSubject,
  decodeId,
  encodeId,
  formatAddress,
  kindWildcard,
  MAX_ID_BYTES,
  parseAddress,
  parseSubject,
} from '../../../actors/runtime/address.ts';
import { subjectProblem } from '../../../core/ports/bus.ts';
import { thrownCode } from '../../contract/bus-helpers.ts';

describe('actor addresses', () => {
  it.each([
    // id                       token: letters, digits and - stay; anything else is _ + hex of each UTF-8 byte
    ['vm-1', 'vm-1'],
    ['a.b', 'a_2eb'],
    ['a_b', 'a_5fb'],
    ['rack/3 *', 'rack_2f3_20_2a'],
    ['ü', '_c3_bc'],
    ['>', '_3e'],
  ])('encodes %j as the subject token %j and back', (id, token) => {
    expect(encodeId(id)).toBe(token);
    expect(decodeId(token)).toBe(id);
  });

  it('round-trips every id into one valid subject token (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (id) => {
        const token = encodeId(id);
        expect(subjectProblem(token, false)).toBeUndefined();
        expect(decodeId(token)).toBe(id);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it.each(['', 'x'.repeat(MAX_ID_BYTES + 1)])('rejects the id %j as invalid', (id) => {
    expect(thrownCode(() => encodeId(id))).toBe('invalid');
  });

  it.each([
    ['_61', 'an escape of a character kept plain (not canonical)'],
    ['a_2', 'a cut escape'],
    ['a_2E', 'uppercase hex'],
    ['_ff', 'bytes that are not UTF-8'],
    ['a.b', 'a raw dot'],
  ])('rejects the token %j (%s)', (token) => {
    expect(thrownCode(() => decodeId(token))).toBe('invalid');
  });

  it('maps an address to its subject and the kind to one wildcard', () => {
    expect(actorSubject('cell1', { kind: 'rp', id: 'host.7' })).toBe('cp.cell1.rp.host_2e7');
    expect(kindWildcard('cell1', 'rp')).toBe('cp.cell1.rp.*');
    expect(parseSubject('cp.cell1.rp.host_2e7')).toEqual({
      scope: 'cell1',
      address: { kind: 'rp', id: 'host.7' },
    });
    expect(thrownCode(() => parseSubject('cp.cell1.rp'))).toBe('invalid');
    expect(thrownCode(() => actorSubject('cell.1', { kind: 'rp', id: 'x' }))).toBe('invalid');
    expect(thrownCode(() => actorSubject('c', { kind: 'Rp', id: 'x' }))).toBe('invalid');
  });

  it('formats and parses kind/id, the id keeping its own slashes', () => {
    expect(formatAddress({ kind: 'rp', id: 'a/b' })).toBe('rp/a/b');
    expect(parseAddress('rp/a/b')).toEqual({ kind: 'rp', id: 'a/b' });
    for (const bad of ['rp', '/x', 'rp/', 'RP/x'])
      expect(thrownCode(() => parseAddress(bad))).toBe('invalid');
  });
});
