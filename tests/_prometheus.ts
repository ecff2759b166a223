/**
 * A strict parser of the Prometheus text exposition format (0.0.4) for tests: it throws on
 * anything a Prometheus server would reject or that breaks the format's rules (a TYPE after
 * samples, interleaved families, duplicate series, bad escapes, non-cumulative buckets).
 * @module
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its TYPE, HELP and samples. */
export interface MetricFamily {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"] as const;

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
}

function parseFloatStrict(text: string, lineNo: number, line: string): number {
  if (!FLOAT.test(text)) fail(lineNo, line, `bad value "${text}"`);
  if (/Inf$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (text.endsWith("NaN")) return NaN;
  return Number(text);
}

function unescape(text: string, allowQuote: boolean, lineNo: number, line: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === "\\") out += "\\";
    else if (next === "n") out += "\n";
    else if (next === '"' && allowQuote) out += '"';
    else fail(lineNo, line, `bad escape "\\${next ?? ""}"`);
  }
  return out;
}

function familyOf(sample: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      const family = families.get(base);
      if (family && (family.type === "histogram" || family.type === "summary")) return base;
    }
  }
  return sample;
}

/** Parses `text`, throwing an `Error` naming the line for the first violation. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the text does not end with a newline");
  const families = new Map<string, MetricFamily>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!match) return;
      const [, keyword, name, rest = ""] = match;
      if (!NAME.test(name!) || NAME.exec(name!)![0] !== name) fail(lineNo, line, "bad metric name");
      let family = families.get(name!);
      if (family && (closed.has(name!) || family.samples.length > 0)) {
        fail(lineNo, line, `${keyword} for ${name} after its samples`);
      }
      if (!family) {
        family = { name: name!, type: "untyped", samples: [] };
        families.set(name!, family);
      }
      if (current && current !== name) closed.add(current);
      current = name;
      if (keyword === "HELP") {
        if (family.help !== undefined) fail(lineNo, line, "second HELP");
        family.help = unescape(rest, false, lineNo, line);
      } else {
        if ((family as { typed?: boolean }).typed) fail(lineNo, line, "second TYPE");
        const type = rest.trim() as MetricFamily["type"];
        if (!TYPES.includes(type)) fail(lineNo, line, `unknown type "${rest}"`);
        family.type = type;
        (family as { typed?: boolean }).typed = true;
      }
      return;
    }

    const nameMatch = NAME.exec(line);
    if (!nameMatch) fail(lineNo, line, "no metric name");
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      rest = rest.slice(1);
      for (;;) {
        rest = rest.replace(/^\s*/, "");
        if (rest.startsWith("}")) {
          rest = rest.slice(1);
          break;
        }
        const label = LABEL.exec(rest)?.[0];
        if (!label) fail(lineNo, line, "bad label name");
        rest = rest.slice(label.length).replace(/^\s*/, "");
        if (!rest.startsWith('="')) fail(lineNo, line, `label ${label} without ="`);
        rest = rest.slice(2);
        let end = 0;
        while (end < rest.length && rest[end] !== '"') end += rest[end] === "\\" ? 2 : 1;
        if (end >= rest.length) fail(lineNo, line, "unterminated label value");
        if (label in labels) fail(lineNo, line, `duplicate label ${label}`);
        labels[label] = unescape(rest.slice(0, end), true, lineNo, line);
        rest = rest.slice(end + 1).replace(/^\s*/, "");
        if (rest.startsWith(",")) rest = rest.slice(1);
        else if (!rest.startsWith("}")) fail(lineNo, line, "expected , or }");
      }
    }
    const fields = rest.trim().split(/\s+/);
    if (!rest.startsWith(" ") || fields.length < 1 || fields.length > 2 || fields[0] === "") {
      fail(lineNo, line, "expected a value and an optional timestamp");
    }
    const value = parseFloatStrict(fields[0]!, lineNo, line);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) fail(lineNo, line, "bad timestamp");

    const familyName = familyOf(name, families);
    if (closed.has(familyName)) fail(lineNo, line, `samples of ${familyName} are not together`);
    if (current && current !== familyName) closed.add(current);
    current = familyName;
    let family = families.get(familyName);
    if (!family) {
      family = { name: familyName, type: "untyped", samples: [] };
      families.set(familyName, family);
    }
    if (family.type === "histogram" && name.endsWith("_bucket") && !("le" in labels)) {
      fail(lineNo, line, "bucket without le");
    }
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSeries.has(key)) fail(lineNo, line, "duplicate series");
    seenSeries.add(key);
    if (family.type === "counter" && !(value >= 0)) fail(lineNo, line, "negative counter");
    family.samples.push({ name, labels, value });
  });

  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      const bound = le === "+Inf" ? Infinity : Number(le);
      if (!FLOAT.test(le!) && le !== "+Inf") throw new Error(`${family.name}: bad le "${le}"`);
      group.buckets.push([bound, sample.value]);
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else if (sample.name !== `${family.name}_sum`) {
      throw new Error(`${family.name}: unexpected sample ${sample.name}`);
    }
  }
  for (const [key, group] of groups) {
    const sorted = [...group.buckets].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![1] < sorted[i - 1]![1]) {
        throw new Error(`${family.name}${key}: buckets are not cumulative`);
      }
    }
    const inf = sorted.at(-1);
    if (!inf || inf[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    if (group.count !== inf[1]) throw new Error(`${family.name}${key}: _count is not +Inf bucket`);
  }
}

/** The sum of the samples `name` whose labels include `labels`; `undefined` when there is none. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let total: number | undefined;
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) {
        total = (total ?? 0) + sample.value;
      }
    }
  }
  return total;
}
