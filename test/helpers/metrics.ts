// Scrapes a /metrics endpoint and reads it with a real Prometheus text-format parser
// (parse-prometheus-text-format, the prom2json shape), so the tests read what Prometheus reads.
//
// That parser folds a histogram's series into one and drops their labels (it only handles
// unlabelled histograms), so histograms are declared untyped before parsing: each of
// <name>_bucket, <name>_sum and <name>_count is then read as a plain family of labelled samples.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

interface Sample {
  value?: string;
  labels?: Record<string, string>;
}

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}

export class Scrape {
  constructor(
    readonly text: string,
    readonly families: Family[],
  ) {}

  family(name: string): Family | undefined {
    return this.families.find((f) => f.name === name);
  }

  /** Every sample of a name (an untyped histogram's series come as one family per label set). */
  private samples(name: string, labels: Record<string, string> = {}): Sample[] {
    const all = this.families.filter((f) => f.name === name).flatMap((f) => f.metrics);
    return all.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  }

  /** A counter's or gauge's value (summed over the series that match labels); 0 when absent. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name, labels).reduce((s, m) => s + Number(m.value ?? 0), 0);
  }

  /** A histogram's observation count and sum (over the series that match labels). */
  histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number } {
    return { count: this.value(`${name}_count`, labels), sum: this.value(`${name}_sum`, labels) };
  }

  /** The label values one label takes in a family (a histogram: give its name). */
  labelValues(name: string, label: string): string[] {
    const own = this.samples(name);
    const samples = own.length > 0 ? own : this.samples(`${name}_count`);
    return [...new Set(samples.map((m) => m.labels?.[label] ?? ''))];
  }
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET ${url}/metrics answered ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain')) throw new Error(`content-type ${type}`);
  const text = await res.text();
  const untyped = text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped');
  return new Scrape(text, parsePrometheusTextFormat(untyped) as Family[]);
}
