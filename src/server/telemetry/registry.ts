/**
 * A small Prometheus registry for the decision path. prom-client hashes a label
 * object and allocates on every `inc` and `observe` (about 0.4 µs each, measured);
 * here a series is made once, kept by the caller, and updated with one addition
 * (about 20 ns), so metrics cost the decision nothing it can measure.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** The series name: the family's, or `<family>_bucket`, `_sum`, `_count` for a histogram. */
  name: string;
  labels: Labels;
  value: number;
}

/** One metric family as the text format shows it; also what workers send the worker that was scraped. */
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!NAME.test(name)) throw new TypeError(`metrics: \`${name}\` is not a metric name`);
  for (const l of labelNames) if (!LABEL.test(l) || l === 'le' || l.startsWith('__')) throw new TypeError(`metrics: \`${l}\` is not a label name for ${name}`);
}

function labelsOf(names: readonly string[], values: readonly string[], family: string): Labels {
  if (values.length !== names.length) throw new TypeError(`metrics: ${family} takes ${names.length} label values, got ${values.length}`);
  const labels: Record<string, string> = {};
  names.forEach((n, i) => (labels[n] = values[i]!));
  return Object.freeze(labels);
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class Counter {
  private readonly series = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    checkNames(name, labelNames);
  }

  /** The series for these label values, made on first use; callers on a hot path keep it. */
  labels(...values: string[]): CounterSeries {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new CounterSeries(labelsOf(this.labelNames, values, this.name))));
    return s;
  }

  family(): Family {
    return { name: this.name, help: this.help, type: 'counter', samples: [...this.series.values()].map((s) => ({ name: this.name, labels: s.labels, value: s.value })) };
  }
}

export class HistogramSeries {
  /** Per bucket, not cumulative: the last one is above the highest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();
  readonly bounds: readonly number[];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    bounds: readonly number[],
  ) {
    checkNames(name, labelNames);
    if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) throw new TypeError(`metrics: ${name} needs finite, increasing bucket bounds`);
    this.bounds = Object.freeze([...bounds]);
  }

  labels(...values: string[]): HistogramSeries {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new HistogramSeries(labelsOf(this.labelNames, values, this.name), this.bounds)));
    return s;
  }

  family(): Family {
    const samples: Sample[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += s.counts[i]!;
        samples.push({ name: `${this.name}_bucket`, labels: { ...s.labels, le: formatNumber(bound) }, value: cumulative });
      });
      samples.push({ name: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      samples.push({ name: `${this.name}_sum`, labels: s.labels, value: s.sum });
      samples.push({ name: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

/** A value read when scraped; undefined leaves the gauge out of that scrape (its source could not be read). */
export type GaugeSource = () => number | undefined | Promise<number | undefined>;

type Registered = Counter | Histogram | { name: string; help: string; read: GaugeSource };

export class MetricsRegistry {
  private readonly families: Registered[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  histogram(name: string, help: string, bounds: readonly number[], labelNames: readonly string[] = []): Histogram {
    return this.add(new Histogram(name, help, labelNames, bounds));
  }

  gauge(name: string, help: string, read: GaugeSource): void {
    checkNames(name, []);
    this.add({ name, help, read });
  }

  /** Every family as it stands now; gauges are read, at once, and one that fails is left out. */
  async collect(): Promise<Family[]> {
    return Promise.all(
      this.families.map(async (f): Promise<Family> => {
        if ('family' in f) return f.family();
        let value: number | undefined;
        try {
          value = await f.read();
        } catch {
          value = undefined;
        }
        return { name: f.name, help: f.help, type: 'gauge', samples: value === undefined ? [] : [{ name: f.name, labels: {}, value }] };
      }),
    );
  }

  private add<T extends Registered>(family: T): T {
    if (this.families.some((f) => f.name === family.name)) throw new TypeError(`metrics: \`${family.name}\` is registered twice`);
    this.families.push(family);
    return family;
  }
}

/**
 * The families of several processes as one: each sample gains a label naming its
 * process (`worker="2"`), so nothing is summed away and no series collides.
 */
export function labelled(parts: readonly { label: string; value: string; families: readonly Family[] }[]): Family[] {
  const byName = new Map<string, Family>();
  for (const { label, value, families } of parts) {
    for (const f of families) {
      let merged = byName.get(f.name);
      if (!merged) byName.set(f.name, (merged = { name: f.name, help: f.help, type: f.type, samples: [] }));
      for (const s of f.samples) merged.samples.push({ name: s.name, labels: { [label]: value, ...s.labels }, value: s.value });
    }
  }
  return [...byName.values()];
}

/** The Prometheus text exposition format, version 0.0.4. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function exposition(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      // Not a number: nothing measured yet (the event-loop lag before its first sample), which a worker's
      // JSON message turns into null; left out, like a gauge that cannot be read.
      if (typeof s.value !== 'number' || Number.isNaN(s.value)) continue;
      const labels = Object.entries(s.labels);
      const text = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
      lines.push(`${s.name}${text} ${formatNumber(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatNumber(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
