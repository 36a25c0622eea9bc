/**
 * The HTML report: one self-contained page, every user string escaped, one chart per
 * question with the data points the metrics hold.
 */
import { describe, expect, it } from 'vitest';
import { capacityTable, type FlavorSpec, type FleetSnapshot, fragmentation } from '../../../sim/capacity.ts';
import { SimMetrics } from '../../../sim/metrics.ts';
import { renderHtmlReport } from '../../../sim/report/html.ts';
import type { SimReport } from '../../../sim/report/types.ts';

const EVIL_FLAVOR = '<script>alert("flavor")</script>';
const EVIL_REASON = '"><img src=x onerror=alert(1)>';

function report(): SimReport {
  const m = new SimMetrics();
  for (let i = 0; i < 300; i++) {
    const t = i * 100; // 30 s of simulated time
    m.requestSubmitted(`r${i}`, t, { flavor: i % 2 ? 'small' : EVIL_FLAVOR });
    m.requestScheduled(`r${i}`, t + 5);
    if (i % 10 === 0) m.requestFailed(`r${i}`, t + 7, i % 20 === 0 ? 'NoValidHost' : EVIL_REASON);
    else m.requestActive(`r${i}`, t + 40, { cell: `cell-${i % 3}`, host: 'h' });
    if (i % 5 === 0) {
      for (const cell of ['cell-0', 'cell-1', 'cell-2']) {
        m.sampleUtilisation(t, cell, {
          VCPU: { used: i % 50, capacity: 64 },
          MEMORY_MB: { used: 1024, capacity: 4096 },
        });
      }
    }
  }
  const fleet: FleetSnapshot = {
    hosts: [
      { name: 'h1', cell: 'cell-0', az: 'az1', free: { VCPU: 8, MEMORY_MB: 8192 }, traits: [] },
      { name: 'h2', cell: 'cell-1', az: 'az2', free: { VCPU: 1, MEMORY_MB: 512 }, traits: [] },
    ],
  };
  const flavors: FlavorSpec[] = [
    { name: 'small', resources: { VCPU: 2, MEMORY_MB: 2048 }, requiredTraits: [], forbiddenTraits: [] },
    { name: EVIL_FLAVOR, resources: { VCPU: 4 }, requiredTraits: [], forbiddenTraits: [] },
  ];
  return {
    scenario: { name: 'burst <b>', seed: 42, mode: 'virtual', hash: 'abc123', hosts: 2, note: '<i>free</i>' },
    metrics: m.snapshot(),
    capacity: capacityTable(fleet, flavors),
    fragmentation: fragmentation(fleet, flavors),
    invariants: { checks: 1234, violations: ['allocation <over> capacity on h2'] },
  };
}

const count = (html: string, re: RegExp) => [...html.matchAll(re)].length;

describe('renderHtmlReport', () => {
  const r = report();
  const html = renderHtmlReport(r);

  it('is one self-contained document: no script, no external resource, a CSP that forbids them', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).toContain('<title>cellplane simulation — burst &lt;b&gt; (seed 42)</title>');
  });

  it('escapes every user string: flavor names, reasons, scenario fields, violations', () => {
    expect(html).not.toContain(EVIL_FLAVOR);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<i>free</i>');
    expect(html).toContain('&lt;script&gt;alert(&quot;flavor&quot;)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('allocation &lt;over&gt; capacity on h2');
  });

  it('draws boots/s with one point per bucket', () => {
    const n = r.metrics.boots.counts.length;
    expect(n).toBe(30); // last event at 29.94 s: buckets [0,1) … [29,30)
    const boots = html.match(/<svg id="chart-boots"[\s\S]*?<\/svg>/)![0];
    expect(boots).toContain(`data-points="${n}"`);
    expect(count(boots, /[ML][\d.]+ [\d.]+/g)).toBe(n);
  });

  it('draws one utilisation chart per resource class with one line per cell', () => {
    expect(count(html, /<svg id="chart-util-\d+"/g)).toBe(2);
    const memChart = html.match(/<svg id="chart-util-0"[\s\S]*?<\/svg>/)![0];
    expect(memChart).toContain('Utilisation of MEMORY_MB per cell');
    expect(count(memChart, /<path class="series/g)).toBe(3);
  });

  it('draws latency percentiles and failures as bars', () => {
    const latency = html.match(/<svg id="chart-latency"[\s\S]*?<\/svg>/)![0];
    expect(count(latency, /<rect class="bar/g)).toBe(8); // p50, p95, p99, max × schedule, end-to-end
    const failures = html.match(/<svg id="chart-failures"[\s\S]*?<\/svg>/)![0];
    expect(count(failures, /<rect class="bar/g)).toBe(2);
    expect(failures).toContain('data-value="15"'); // 30 failures: 15 NoValidHost, 15 of the other
  });

  it('lists capacity and fragmentation as tables with headers', () => {
    const cap = html.match(/<table id="capacity-table">[\s\S]*?<\/table>/)![0];
    expect(count(cap, /<th scope="col"/g)).toBe(4);
    expect(count(cap, /<tr>/g)).toBe(1 + r.capacity.rows.length);
    expect(html).toMatch(/<table id="fragmentation-table">/);
  });

  it('renders an empty run without failing', () => {
    const empty = renderHtmlReport({
      ...r,
      metrics: new SimMetrics().snapshot(),
      invariants: { checks: 0, violations: [] },
    });
    expect(empty).toContain('No request failed.');
    expect(empty).toContain('No utilisation samples.');
    expect(empty).not.toContain('id="violations"');
  });
});
