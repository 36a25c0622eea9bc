/**
 * A boot or resize to a flavor whose extra specs cellplane does not act on is refused (`invalid`,
 * 400), naming every such spec and why: a spec the API let in (lenient mode, or set before the
 * registry existed) must not be ignored at boot.
 */
import { CellplaneError } from '../../core/errors.ts';
import { describeExtraSpecProblems, extraSpecProblems } from '../../core/model/extra-specs.ts';
import type { InstanceFlavor } from '../instances.ts';

export function refuseUnhonouredSpecs(flavor: Pick<InstanceFlavor, 'name' | 'extraSpecs'>): void {
  const problems = extraSpecProblems(flavor.extraSpecs);
  if (problems.length === 0) return;
  throw new CellplaneError(
    'invalid',
    `Flavor ${flavor.name} has extra specs cellplane does not act on: ${describeExtraSpecProblems(problems)}. ` +
      'Remove them from the flavor or use another flavor.',
    { details: { extraSpecs: problems.map((p) => p.key) } },
  );
}
