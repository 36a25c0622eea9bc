import { describe, expect, it } from 'vitest';
import { isCrash, RestartBudget } from '../../../actors/runtime/supervisor.ts';
import { CellplaneError } from '../../../core/errors.ts';

describe('supervision policy', () => {
  it.each([
    [new Error('bug'), true],
    [new TypeError('x is undefined'), true],
    ['a string', true],
    [undefined, true],
    [new CellplaneError('internal', 'bug'), true],
    [{ code: 'nonsense', message: 'x' }, true],
    [new CellplaneError('conflict', 'generation moved'), false],
    [new CellplaneError('invalid', 'bad flavor'), false],
    [{ code: 'notFound', message: 'crossed a thread' }, false],
  ])('a throw of %o is a crash: %s', (err, crash) => {
    expect(isCrash(err)).toBe(crash);
  });

  it('allows maxRestarts crashes per sliding window, then says stop', () => {
    const b = new RestartBudget({ maxRestarts: 2, windowMs: 1_000 });
    // times        0     500   900 (3rd in 1 s window)
    expect([0, 500].map((t) => b.recordFailure(t))).toEqual([true, true]);
    expect(b.recordFailure(900)).toBe(false);
    // at 1600 the window is (600, 1600]: 0 fell out, 700 and 1600 count (2 of 2); 1650 is a 3rd
    const fresh = new RestartBudget({ maxRestarts: 2, windowMs: 1_000 });
    expect([0, 700, 1_600].map((t) => fresh.recordFailure(t))).toEqual([true, true, true]);
    expect(fresh.recent).toBe(2);
    expect(fresh.recordFailure(1_650)).toBe(false);
  });

  it('with maxRestarts 0 stops at the first crash', () => {
    expect(new RestartBudget({ maxRestarts: 0, windowMs: 1_000 }).recordFailure(0)).toBe(false);
  });
});
