/** The JSON lines the HTTP bench children print (real-placement.ts, cellplane-http.ts). */

export interface RealPlacementOut {
  readonly db: 'mysql' | 'sqlite';
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly qps: number;
  readonly candidates: number;
  readonly providers: number;
  readonly loadSeconds: number;
  /** The checked first request (not a sample). */
  readonly firstMs: number;
  readonly apiPeakRssMiB: number | null;
  readonly dbPeakRssMiB: number | null;
}

export interface OursHttp {
  /** Sequential requests timed, one at a time. */
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests ÷ their summed times, one at a time (as Placement is measured). */
  readonly qps: number;
  /** A few requests in flight at once: completed ÷ wall time. */
  readonly concurrent: {
    readonly inFlight: number;
    readonly requests: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly qps: number;
  };
  /** One at a time through Node's fetch instead (the client's own cost, for comparison). */
  readonly fetch: { readonly requests: number; readonly p50Ms: number; readonly p99Ms: number };
  readonly candidates: number;
  readonly providers: number;
  /** Server start: fleet → memory store → PlacementService.open. */
  readonly loadMs: number;
  /** TCP connections the server accepted over the whole run (keep-alive check). */
  readonly connections: number;
  /** In process, p50 per step (ms), and the answer's size. */
  readonly breakdown: {
    readonly searchMs: number;
    readonly textMs: number;
    readonly objectsMs: number;
    readonly bodyBytes: number;
  };
}
