/**
 * A private copy of `bytes`. Not `bytes.slice()`: on a Node Buffer (what msgpackr's pack returns)
 * slice() is a VIEW into the shared pool the encoder writes into, so keeping it keeps the whole
 * pool chunk alive — a stored 200-byte record would pin kilobytes. Measured in the simulator:
 * 11 KB of ArrayBuffers retained per instance before this copy, on 20,000 instances.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}
