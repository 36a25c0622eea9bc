/** Option parsers shared by the commands (commander calls them with the raw string). */

/** An integer in [min, max], or an Error naming the option and what was given. */
export function intIn(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

/** One of `values`, or an Error naming the option, the choices and what was given. */
export function oneOf<T extends string>(name: string, values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value))
      throw new Error(`${name} must be one of ${values.join(', ')}, got "${value}"`);
    return value as T;
  };
}
