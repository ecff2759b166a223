/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format (version 0.0.4). No dependency.
 * @module
 */
import { cachedSeriesLookup } from "./_series_lookup.ts";

/** Label values of one series, keyed by label name. */
export type Labels = Readonly<Record<string, string | number>>;

/** The `Content-Type` of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Latency buckets in seconds, from 5 ms to 2 minutes (AI answers can be slow). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
];

/** A value that only goes up. */
export interface Counter {
  inc(labels?: Labels, value?: number): void;
}

/** A value that goes up and down. */
export interface Gauge {
  set(labels: Labels, value: number): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}

/** Observations counted into cumulative buckets, with their sum and count. */
export interface Histogram {
  observe(labels: Labels, value: number): void;
}

type Kind = "counter" | "gauge" | "histogram";

interface Series {
  labels: string[];
  value: number;
  buckets?: number[];
  sum?: number;
}

interface Family {
  name: string;
  help: string;
  kind: Kind;
  labelNames: readonly string[];
  buckets?: readonly number[];
  series: Map<string, Series>;
  /** The series of a label set, through {@linkcode cachedSeriesLookup}. */
  lookup: (labels: Labels) => Series;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Label value that replaces every value of a series past a family's series limit. */
const OVERFLOW = "other";

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((name, i) => `${name}="${escapeLabel(values[i]!)}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/**
 * A set of metrics and their text rendering.
 * @example
 * ```ts
 * const metrics = new MetricsRegistry();
 * const requests = metrics.counter("http_requests_total", "HTTP requests", ["route", "status"]);
 * requests.inc({ route: "/process", status: 200 });
 * metrics.render(); // "# HELP http_requests_total HTTP requests\n# TYPE ..."
 * ```
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #collectors: (() => void)[] = [];
  readonly #maxSeries: number;

  /** `maxSeries` bounds the series of one metric; later label sets count as `"other"`. */
  constructor(options: { maxSeries?: number } = {}) {
    this.#maxSeries = options.maxSeries ?? 1000;
  }

  /** Registers a counter. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const family = this.#register(name, help, "counter", labelNames);
    return {
      inc: (labels = {}, value = 1) => {
        if (!(value >= 0)) throw new RangeError(`Counter ${name} cannot go down (${value})`);
        this.#series(family, labels).value += value;
      },
    };
  }

  /** Registers a gauge. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const family = this.#register(name, help, "gauge", labelNames);
    return {
      set: (labels, value) => {
        this.#series(family, labels).value = value;
      },
      inc: (labels = {}, value = 1) => {
        this.#series(family, labels).value += value;
      },
      dec: (labels = {}, value = 1) => {
        this.#series(family, labels).value -= value;
      },
    };
  }

  /** Registers a histogram with upper bucket bounds (sorted, `+Inf` added). */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS,
  ): Histogram {
    if (labelNames.includes("le")) throw new Error(`Histogram ${name} cannot have a label "le"`);
    const bounds = [...new Set(buckets)].filter((b) => b !== Infinity).sort((a, b) => a - b);
    const family = this.#register(name, help, "histogram", labelNames, bounds);
    return {
      observe: (labels, value) => {
        const series = this.#series(family, labels);
        series.value++;
        series.sum! += value;
        for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) series.buckets![i]!++;
      },
    };
  }

  /** Runs `collect` before each rendering, to set gauges read at scrape time. */
  onCollect(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /** Every metric in the Prometheus text format. */
  render(): string {
    for (const collect of this.#collectors) collect();
    const lines: string[] = [];
    for (const family of this.#families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${family.name} ${family.kind}`);
      for (const series of family.series.values()) {
        if (family.kind !== "histogram") {
          lines.push(
            `${family.name}${labelText(family.labelNames, series.labels)} ${
              formatNumber(series.value)
            }`,
          );
          continue;
        }
        family.buckets!.forEach((bound, i) => {
          const le = `le="${formatNumber(bound)}"`;
          lines.push(
            `${family.name}_bucket${labelText(family.labelNames, series.labels, le)} ${
              series.buckets![i]
            }`,
          );
        });
        const inf = labelText(family.labelNames, series.labels, 'le="+Inf"');
        lines.push(`${family.name}_bucket${inf} ${series.value}`);
        const plain = labelText(family.labelNames, series.labels);
        lines.push(`${family.name}_sum${plain} ${formatNumber(series.sum!)}`);
        lines.push(`${family.name}_count${plain} ${series.value}`);
      }
    }
    return lines.join("\n") + "\n";
  }

  /** The metrics as an HTTP answer. */
  response(): Response {
    return new Response(this.render(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
  }

  #register(
    name: string,
    help: string,
    kind: Kind,
    labelNames: readonly string[],
    buckets?: readonly number[],
  ): Family {
    if (!METRIC_NAME.test(name)) throw new Error(`Invalid metric name "${name}"`);
    if (this.#families.has(name)) throw new Error(`Metric "${name}" is already registered`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new Error(`Invalid label name "${label}" on metric "${name}"`);
      }
    }
    const family: Family = {
      name,
      help,
      kind,
      labelNames,
      series: new Map(),
      lookup: (labels) => this.#slowSeries(family, labels),
    };
    if (buckets) family.buckets = buckets;
    family.lookup = cachedSeriesLookup(labelNames, family.lookup, this.#maxSeries * 2);
    this.#families.set(name, family);
    if (labelNames.length === 0) this.#series(family, {});
    return family;
  }

  #series(family: Family, labels: Labels): Series {
    return family.lookup(labels);
  }

  #slowSeries(family: Family, labels: Labels): Series {
    const keys = Object.keys(labels);
    if (
      keys.length !== family.labelNames.length || keys.some((k) => !family.labelNames.includes(k))
    ) {
      throw new Error(
        `Metric "${family.name}" takes labels [${family.labelNames.join(", ")}], got [${
          keys.join(", ")
        }]`,
      );
    }
    let values = family.labelNames.map((name) => String(labels[name]));
    let key = JSON.stringify(values);
    let series = family.series.get(key);
    if (series) return series;
    if (family.series.size >= this.#maxSeries) {
      values = family.labelNames.map(() => OVERFLOW);
      key = JSON.stringify(values);
      series = family.series.get(key);
      if (series) return series;
    }
    series = { labels: values, value: 0 };
    if (family.kind === "histogram") {
      series.buckets = family.buckets!.map(() => 0);
      series.sum = 0;
    }
    family.series.set(key, series);
    return series;
  }
}
