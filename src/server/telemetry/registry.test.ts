import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { getMetricsFromStream, type PromData, type PromHistogramData } from 'prom2javascript';
import { MetricsRegistry, exposition, labelled, type Family } from './registry.js';

/** Read back by a Prometheus text-format parser of its own, which rejects what it cannot parse. */
const parseText = (families: Family[]) => getMetricsFromStream(Readable.from([exposition(families)]));
const parse = async (r: MetricsRegistry) => parseText(await r.collect());

describe('the metrics registry', () => {
  it('writes counters a Prometheus parser reads back, label values escaped', async () => {
    const r = new MetricsRegistry();
    const c = r.counter('t_total', 'help with a \\ backslash\nand a line', ['reason']);
    const tricky = 'a "quoted" \\ value\nover two lines';
    c.labels(tricky).inc();
    c.labels(tricky).inc(2);
    c.labels('plain').inc();
    const family = (await parse(r)).t_total;
    assert.equal(family?.type, 'counter');
    // Escaped as the format says (this parser keeps HELP text as written): the newline does not break the exposition.
    assert.equal(family?.help, String.raw`help with a \\ backslash\nand a line`);
    assert.deepEqual((family?.data as PromData[]).map((m) => [m.labels.reason, m.value]), [[tricky, 3], ['plain', 1]]);
  });

  it('keeps one series per label values: the caller holds it and only adds', () => {
    const c = new MetricsRegistry().counter('t_total', 'h', ['a', 'b']);
    assert.equal(c.labels('x', 'y'), c.labels('x', 'y'));
    assert.notEqual(c.labels('x', 'y'), c.labels('xy', ''));
    assert.throws(() => c.labels('x'), TypeError);
  });

  it('writes histograms with cumulative buckets, +Inf, sum and count', async () => {
    const r = new MetricsRegistry();
    const h = r.histogram('t_seconds', 'h', [0.001, 0.01, 0.1], ['gateway']).labels('mcp');
    for (const v of [0.0005, 0.001, 0.005, 0.05, 3]) h.observe(v);
    const family = (await parse(r)).t_seconds;
    assert.equal(family?.type, 'histogram');
    const [m, ...more] = family!.data as PromHistogramData[];
    assert.equal(more.length, 0);
    assert.deepEqual(m!.labels, { gateway: 'mcp' });
    assert.deepEqual(m!.buckets, { '0.001': 2, '0.01': 3, '0.1': 4, '+Inf': 5 });
    assert.equal(m!.count, 5);
    assert.equal(m!.sum, 0.0005 + 0.001 + 0.005 + 0.05 + 3);
  });

  it('reads gauges when scraped; one whose source fails or has measured nothing (NaN) is left out, the scrape goes on', async () => {
    const r = new MetricsRegistry();
    let n = 1;
    r.gauge('t_up', 'h', () => n);
    r.gauge('t_unmeasured', 'h', () => Number.NaN);
    r.gauge('t_broken', 'h', async () => {
      throw new Error('store down');
    });
    n = 7;
    const families = await parse(r);
    assert.deepEqual(Object.entries(families).map(([name, f]) => [name, (f.data as PromData[]).map((m) => m.value)]), [['t_up', [7]], ['t_unmeasured', []], ['t_broken', []]]);
  });

  it('refuses names Prometheus would not accept, and a name registered twice', () => {
    const r = new MetricsRegistry();
    assert.throws(() => r.counter('bad-name', 'h'), TypeError);
    assert.throws(() => r.counter('t_total', 'h', ['le']), TypeError);
    assert.throws(() => r.histogram('t_seconds', 'h', [1, 1]), TypeError);
    r.counter('t_total', 'h');
    assert.throws(() => r.counter('t_total', 'h'), TypeError);
  });

  it('merges the families of several workers, each series labelled with its worker', async () => {
    const one = new MetricsRegistry();
    one.counter('t_total', 'h', ['outcome']).labels('allow').inc(2);
    const two = new MetricsRegistry();
    two.counter('t_total', 'h', ['outcome']).labels('allow').inc(5);
    const merged = labelled([
      { label: 'worker', value: '1', families: await one.collect() },
      { label: 'worker', value: '2', families: await two.collect() },
    ]);
    assert.deepEqual(merged.map((f) => f.name), ['t_total'], 'one family, once');
    const family = (await parseText(merged)).t_total;
    assert.deepEqual((family?.data as PromData[]).map((m) => [m.labels, m.value]), [[{ worker: '1', outcome: 'allow' }, 2], [{ worker: '2', outcome: 'allow' }, 5]]);
  });
});
