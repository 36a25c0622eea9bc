/**
 * Nova's extra-spec requirement language (nova/scheduler/filters/extra_specs_ops.py), used by the
 * aggregate-extra-specs filter. A requirement is either a plain string (string equality) or an
 * operator followed by operands:
 *
 *   =  v      value >= v (numbers)        s== v   value equals v (strings), s!= s< s<= s> s>= likewise
 *   == v      value == v (numbers)        <in> v  v is a substring of value
 *   != >= <=  numeric comparisons         <all-in> a b …  every word is a substring of value
 *   <or> a <or> b …  value equals one of the words
 *
 * Unlike Nova (which raises on a non-numeric operand), a numeric operator over a non-number is
 * simply no match.
 */

type Op = (value: string, operand: string) => boolean;

function num(cmp: (a: number, b: number) => boolean): Op {
  return (value, operand) => {
    const a = Number(value);
    const b = Number(operand);
    return value.trim() !== '' && operand.trim() !== '' && !Number.isNaN(a) && !Number.isNaN(b) && cmp(a, b);
  };
}

const OPS: Readonly<Record<string, Op>> = {
  '=': num((a, b) => a >= b),
  '==': num((a, b) => a === b),
  '!=': num((a, b) => a !== b),
  '>=': num((a, b) => a >= b),
  '<=': num((a, b) => a <= b),
  '<in>': (v, o) => v.includes(o),
  's==': (v, o) => v === o,
  's!=': (v, o) => v !== o,
  's<': (v, o) => v < o,
  's<=': (v, o) => v <= o,
  's>': (v, o) => v > o,
  's>=': (v, o) => v >= o,
};

/** Does `value` (one aggregate metadata value) satisfy `requirement` (one extra spec value)? */
export function matchesRequirement(value: string, requirement: string): boolean {
  const words = requirement.split(/\s+/).filter((w) => w.length > 0);
  const op = words[0];
  if (op === undefined) return value === requirement;
  if (op === '<or>') {
    // "<or> a <or> b": the operands are every other word after the first.
    for (let i = 1; i < words.length; i += 2) if (words[i] === value) return true;
    return false;
  }
  if (op === '<all-in>') return words.length > 1 && words.slice(1).every((w) => value.includes(w));
  const method = OPS[op];
  if (!method) return value === requirement;
  const operand = words[1];
  return operand !== undefined && method(value, operand);
}
