import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { getMetricsFromStream, type PromHistogramData, type PromMetric, type PromMetrics } from 'prom2javascript';

/** The Prometheus text format parsed by a parser of its own (prom2javascript); a malformed exposition rejects. */
export function parseExposition(text: string): Promise<PromMetrics> {
  return getMetricsFromStream(Readable.from([text]));
}

/** `GET /metrics` with a bearer token, parsed. */
export async function scrape(base: string, token: string): Promise<Scraped> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return new Scraped(await parseExposition(text));
}

type Series = { labels: Record<string, string>; value?: number; count?: number };

export class Scraped {
  constructor(readonly families: PromMetrics) {}

  family(name: string): PromMetric {
    const f = this.families[name];
    assert.ok(f, `no metric family \`${name}\` in ${Object.keys(this.families).join(', ')}`);
    return f;
  }

  /** The series of `name` whose labels include `labels`. */
  series(name: string, labels: Record<string, string> = {}): Series[] {
    return (this.family(name).data as Series[]).filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  }

  /** The value of the one series of a counter or gauge with exactly these labels; 0 when there is none. */
  value(name: string, labels: Record<string, string> = {}): number {
    const exact = this.series(name, labels).filter((m) => Object.keys(m.labels).length === Object.keys(labels).length);
    assert.ok(exact.length <= 1, `several series of ${name} match ${JSON.stringify(labels)}`);
    return exact[0]?.value ?? 0;
  }

  /** The count of a histogram, over the series whose labels include `labels`. */
  count(name: string, labels: Record<string, string> = {}): number {
    assert.equal(this.family(name).type, 'histogram');
    return (this.series(name, labels) as unknown as PromHistogramData[]).reduce((n, m) => n + m.count, 0);
  }
}
