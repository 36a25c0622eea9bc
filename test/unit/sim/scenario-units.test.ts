/**
 * Duration and size syntax, the did-you-mean distance, and the fit rules on single profiles.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  didYouMean,
  formatDuration,
  levenshtein,
  parseDuration,
  parseSize,
} from '../../../sim/scenario-units.ts';
import { edit, parse } from './scenario-fixture.ts';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    [90, 90_000],
    [0.25, 250],
    ['45', 45_000],
    [0, 0],
  ] as const)('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: ms });
  });

  it.each([['10 minutes'], ['-5s'], ['1.5ms'], ['m'], [''], [true], [null], [-1]])('rejects %s', (input) => {
    expect(parseDuration(input).ok).toBe(false);
  });

  it('round-trips: parseDuration(formatDuration(ms)) === ms for whole ms', () => {
    fc.assert(
      fc.property(fc.nat(10 * 86_400_000), (ms) => {
        expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, value: ms });
      }),
    );
  });
});

describe('sizes', () => {
  it.each([
    ['64GiB', 'MB', false, 65_536],
    ['512MiB', 'MB', false, 512],
    ['1.5GiB', 'MB', false, 1_536],
    ['2TiB', 'GB', false, 2_048],
    ['100GB', 'GB', false, 100],
    ['2048MiB', 'GB', false, 2],
    [4096, 'MB', true, 4_096],
    ['20', 'GB', true, 20],
  ] as const)('%s as %s → %d', (input, unit, plain, out) => {
    expect(parseSize(input, unit, plain)).toEqual({ ok: true, value: out });
  });

  it.each([
    [64, 'MB', false, /needs a unit/],
    ['512MiB', 'GB', false, /whole number of GB/],
    ['lots', 'MB', true, /must be a size like 4GiB or 512MiB or a plain number of MB, got "lots"/],
    ['0.5KiB', 'MB', false, /whole number of MB/],
  ] as const)('rejects %s as %s', (input, unit, plain, msg) => {
    const r = parseSize(input, unit, plain);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(msg);
  });
});

describe('did you mean', () => {
  it('suggests within distance 2 only', () => {
    expect(didYouMean('duraton', ['duration', 'seed'])).toBe(' (did you mean "duration"?)');
    expect(didYouMean('xyz', ['duration', 'seed'])).toBe('');
    expect(levenshtein('kitten', 'sitting')).toBe(3);
  });

  it('levenshtein is a metric on small strings (symmetric, zero iff equal, triangle)', () => {
    const s = fc.string({ maxLength: 8 });
    fc.assert(
      fc.property(s, s, s, (a, b, c) => {
        expect(levenshtein(a, b)).toBe(levenshtein(b, a));
        expect(levenshtein(a, b) === 0).toBe(a === b);
        expect(levenshtein(a, c)).toBeLessThanOrEqual(levenshtein(a, b) + levenshtein(b, c));
      }),
    );
  });
});

describe('devices and the fit check', () => {
  const withDevices = (devices: string, extra: string) =>
    edit(
      '      traits: [HW_CPU_X86_AVX2]\n',
      `      traits: [HW_CPU_X86_AVX2]\n      devices:\n${devices}`,
      edit(
        '    small: { vcpus: 1, ram: 2GiB, disk_gb: 10 }\n',
        `    small: { vcpus: 1, ram: 2GiB, disk_gb: 10${extra} }\n`,
      ),
    );

  it.each([
    // [devices yaml, extra specs of flavor small, fits?]
    ['        gpus: [{ count: 2, vgpus: 4 }]\n', ', extra_specs: { resources:VGPU: 4 }', true],
    // VGPU comes from one GPU: 5 > 4 per GPU even though the host has 8.
    ['        gpus: [{ count: 2, vgpus: 4 }]\n', ', extra_specs: { resources:VGPU: 5 }', false],
    ['        gpus: [{ count: 2, passthrough: true }]\n', ', extra_specs: { resources:PGPU: 1 }', true],
    [
      '        sriov: [{ count: 1, vfs: 8, physnet: tenant }]\n',
      ', extra_specs: { trait:CUSTOM_PHYSNET_TENANT: required }',
      true,
    ],
    [
      '        fpgas: [{ count: 1, function: aes }]\n',
      ', extra_specs: { resources:FPGA: 1, trait:CUSTOM_FPGA_FUNCTION_GZIP: required }',
      false,
    ],
    // gen has the forbidden trait on its root; bm offers no VCPU at all.
    ['        fpgas: [{ count: 1 }]\n', ', extra_specs: { trait:HW_CPU_X86_AVX2: forbidden }', false],
    ['        fpgas: [{ count: 1 }]\n', ', extra_specs: { trait:HW_CPU_X86_AVX512F: forbidden }', true],
  ] as const)('%s with%s fits: %s', (devices, extra, fits) => {
    const text = withDevices(devices, extra);
    if (fits) expect(() => parse(text)).not.toThrow();
    else expect(() => parse(text)).toThrow(/no host could ever fit flavor "small"/);
  });
});
