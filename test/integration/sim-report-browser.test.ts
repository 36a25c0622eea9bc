/**
 * The HTML report in a real browser: Debian's headless Chromium (via playwright-core) opens a
 * report built from a few thousand fake samples and must find no errors, no network request,
 * visible charts with the expected data points, and the capacity table rows.
 * Set CELLPLANE_REPORT_SCREENSHOT=/some/file.png to keep a screenshot for a look by eye.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capacityTable, type FlavorSpec, type FleetHost, fragmentation } from '../../sim/capacity.ts';
import { SimMetrics } from '../../sim/metrics.ts';
import { renderHtmlReport } from '../../sim/report/html.ts';
import type { SimReport } from '../../sim/report/types.ts';
import { chromiumPath } from '../real/chromium.ts';

// Browser globals used inside page callbacks (the project's tsconfig has no DOM lib; these stay module-local).
declare const document: { body: unknown };
declare function getComputedStyle(e: unknown): { stroke: string; backgroundColor: string };

const CELLS = ['cell-1', 'cell-2', 'cell-3', 'cell-4'];
const REASONS = ['NoValidHost', 'BuildAbortException', 'spawn failed: <hypervisor> "timeout"'];

/** 3,000 requests over 10 simulated minutes, utilisation sampled every 10 s per cell. */
function buildReport(): SimReport {
  const m = new SimMetrics();
  for (let i = 0; i < 3000; i++) {
    const t = i * 200;
    m.requestSubmitted(`r${i}`, t, { flavor: i % 3 ? 'm1.small' : 'g1.<gpu>' });
    m.requestScheduled(`r${i}`, t + 3 + (i % 17));
    if (i % 25 === 0) m.requestFailed(`r${i}`, t + 40, REASONS[i % REASONS.length]!);
    else
      m.requestActive(`r${i}`, t + 500 + ((i * 37) % 4000), {
        cell: CELLS[i % CELLS.length]!,
        host: `h${i % 50}`,
      });
  }
  for (let t = 0; t <= 600_000; t += 10_000) {
    CELLS.forEach((cell, c) => {
      const used = Math.min(512, (t / 600_000) * 512 * (0.5 + c / 8));
      m.sampleUtilisation(t, cell, {
        VCPU: { used, capacity: 512 },
        MEMORY_MB: { used: used * 2048, capacity: 1_048_576 },
      });
    });
  }
  const hosts: FleetHost[] = [];
  for (let h = 0; h < 40; h++) {
    hosts.push({
      name: `h${h}`,
      cell: CELLS[h % CELLS.length]!,
      az: Math.floor(h / 4) % 2 ? 'az-b' : 'az-a', // every cell has hosts in both AZs
      free: { VCPU: h % 9, MEMORY_MB: (h % 5) * 4096 },
      traits: h % 4 === 0 ? ['CUSTOM_GPU'] : [],
    });
  }
  const flavors: FlavorSpec[] = [
    { name: 'm1.small', resources: { VCPU: 1, MEMORY_MB: 2048 }, requiredTraits: [], forbiddenTraits: [] },
    {
      name: 'g1.<gpu>',
      resources: { VCPU: 4, MEMORY_MB: 8192 },
      requiredTraits: ['CUSTOM_GPU'],
      forbiddenTraits: [],
    },
  ];
  return {
    scenario: { name: 'browser check', seed: 20261123, mode: 'virtual', hash: 'f00d', hosts: hosts.length },
    metrics: m.snapshot(),
    capacity: capacityTable({ hosts }, flavors),
    fragmentation: fragmentation({ hosts }, flavors),
    invariants: { checks: 3000, violations: [] },
  };
}

describe('HTML report in headless Chromium', () => {
  const report = buildReport();
  let dir: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  let url: string;

  beforeAll(async () => {
    const executablePath = await chromiumPath();
    dir = await mkdtemp(join(tmpdir(), 'cellplane-report-browser-'));
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtmlReport(report), 'utf8');
    url = pathToFileURL(file).href;
    browser = await chromium.launch({ executablePath, headless: true });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(url, { waitUntil: 'load' });
    const shot = process.env.CELLPLANE_REPORT_SCREENSHOT;
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  }, 15 * 60_000); // a first run may install Chromium with apt-get

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads without console errors and without any request but the page itself', async () => {
    expect(await page.title()).toBe('cellplane simulation — browser check (seed 20261123)');
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([url]);
  });

  it('draws every chart with a non-zero size', async () => {
    const sizes = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((s) => {
        const r = s.getBoundingClientRect();
        return { id: s.id, width: r.width, height: r.height };
      }),
    );
    expect(sizes.map((s) => s.id)).toEqual([
      'chart-boots',
      'chart-latency',
      'chart-util-0',
      'chart-util-1',
      'chart-failures',
    ]);
    for (const s of sizes) {
      expect(s.width, s.id).toBeGreaterThan(100);
      expect(s.height, s.id).toBeGreaterThan(50);
    }
  });

  it('plots one boots/s point per bucket, as a visible line', async () => {
    const boots = await page.$eval('#chart-boots path.series', (p) => ({
      points: Number(p.getAttribute('data-points')),
      segments: (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0,
      length: (p as unknown as { getTotalLength(): number }).getTotalLength(),
      stroke: getComputedStyle(p).stroke,
    }));
    expect(boots.points).toBe(report.metrics.boots.counts.length);
    expect(boots.segments).toBe(report.metrics.boots.counts.length);
    expect(boots.length).toBeGreaterThan(0);
    expect(boots.stroke).not.toBe('none');
  });

  it('plots one utilisation line per cell for each resource class', async () => {
    for (const id of ['chart-util-0', 'chart-util-1']) {
      const lines = await page.$$eval(`#${id} path.series`, (ps) =>
        ps.map((p) => ({
          cell: p.getAttribute('data-series'),
          points: Number(p.getAttribute('data-points')),
        })),
      );
      expect(lines.map((l) => l.cell)).toEqual(CELLS);
      // samples every 10 s from 0 to 600 s, one per 1 s bucket: 61 points
      for (const l of lines) expect(l.points).toBe(61);
    }
  });

  it('draws latency and failure bars with the reported values', async () => {
    const latency = await page.$$eval('#chart-latency rect.bar', (rs) =>
      rs.map((r) => r.getBoundingClientRect().width),
    );
    expect(latency).toHaveLength(8);
    expect(latency.every((w) => w > 0)).toBe(true);
    const failures = await page.$$eval('#chart-failures rect.bar', (rs) =>
      rs.map((r) => [r.getAttribute('data-label'), Number(r.getAttribute('data-value'))]),
    );
    expect(Object.fromEntries(failures)).toEqual(report.metrics.failuresByReason);
  });

  it('lists the capacity table row by row', async () => {
    const rows = await page.$$eval('#capacity-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows).toEqual(report.capacity.rows.map((r) => [r.flavor, r.cell, r.az, String(r.fits)]));
    expect(rows).toHaveLength(2 * 8); // 2 flavors × 4 cells × 2 AZs
    const head = await page.$$eval('#capacity-table thead th', (ths) => ths.map((th) => th.textContent));
    expect(head).toEqual(['flavor', 'cell', 'AZ', 'fits']);
  });

  it('follows the reader into dark mode', async () => {
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await bg();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await bg();
    expect(light).toBe('rgb(255, 255, 255)');
    expect(dark).not.toBe(light);
  });
});
