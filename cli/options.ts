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
