// Piscina task for the workers probe: scans half of a shared Float64Array (one column's worth of
// a 50,000-slot fleet) and returns how many cells pass a threshold — the shape of one filter pass.
export default function scan({ shared, from, to, threshold }) {
  const col = new Float64Array(shared);
  let n = 0;
  for (let i = from; i < to; i++) if (col[i] + 2 <= threshold) n++;
  return n;
}
