/**
 * The one fixture for tests on real servers (STYLE.md §12): the URLs of the servers the
 * global setup started or reused, and a unique prefix per test so suites run in parallel
 * without seeing each other's subjects, keys and streams.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { ServiceUrls } from './global-setup.ts';

export function services(): ServiceUrls {
  return inject('services');
}

/** A prefix unique to this call: letters and digits only, so it is valid in subjects, keys and stream names. */
export function uniquePrefix(label = 't'): string {
  return `${label.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(5).toString('hex')}`;
}
