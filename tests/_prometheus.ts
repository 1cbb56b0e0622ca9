/**
 * Reads a Prometheus text exposition (format 0.0.4) the way a scraper does, strictly: a parser
 * written to the format's specification (the "Text format details" of the Prometheus exposition
 * formats page) that refuses what a Prometheus server would refuse. Lines are `# HELP`, `# TYPE`,
 * other comments, or samples `name{label="value",…} value [timestamp]` with `\\`, `\"` and `\n`
 * escapes in label values; a family's `# TYPE` comes once, before its samples, and its lines form
 * one group; no series repeats; a histogram's series have cumulative `_bucket`s ending at `+Inf`,
 * a `_sum` and a `_count` equal to the `+Inf` bucket.
 *
 * The npm package `parse-prometheus-text-format` reads counters and gauges as well and is used as
 * a second, independent reader of them; it is not the main parser because it drops the labels,
 * `_sum` and `_count` of histograms that have labels other than `le`.
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One series: its labels and, for counters and gauges, its value. */
export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly value?: number;
  /** Histograms: cumulative counts by upper bound (`+Inf` included). */
  readonly buckets?: Readonly<Record<string, number>>;
  readonly count?: number;
  readonly sum?: number;
}

/** One metric family. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  readonly series: ReadonlyArray<Series>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

const fail = (line: number, message: string): never => {
  throw new Error(`line ${line}: ${message}`);
};

const parseValue = (raw: string, line: number): number => {
  if (raw === "+Inf" || raw === "Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) fail(line, `invalid value "${raw}"`);
  return Number(raw);
};

// Reads `{a="x",b="y"}` from the start of `rest`; returns the labels and what follows.
const parseLabels = (rest: string, line: number): [Record<string, string>, string] => {
  const labels: Record<string, string> = {};
  let i = 1;
  const skipBlanks = () => {
    while (rest[i] === " " || rest[i] === "\t") i++;
  };
  for (;;) {
    skipBlanks();
    if (rest[i] === "}") return [labels, rest.slice(i + 1)];
    const name = LABEL_NAME.exec(rest.slice(i))?.[0] ?? fail(line, "invalid label name");
    if (name in labels) fail(line, `label ${name} given twice`);
    i += name.length;
    skipBlanks();
    if (rest[i++] !== "=") fail(line, `expected = after label ${name}`);
    skipBlanks();
    if (rest[i++] !== '"') fail(line, `label ${name}: expected a quoted value`);
    let value = "";
    for (;;) {
      const c = rest[i++];
      if (c === undefined) fail(line, `label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === "\\") {
        const e = rest[i++];
        if (e === "\\" || e === '"') value += e;
        else if (e === "n") value += "\n";
        else fail(line, `label ${name}: invalid escape \\${e}`);
      } else value += c;
    }
    labels[name] = value;
    skipBlanks();
    if (rest[i] === ",") i++;
    else if (rest[i] !== "}") fail(line, "expected , or } after a label");
  }
};

const parseSample = (text: string, line: number): Sample => {
  const name = METRIC_NAME.exec(text)?.[0] ?? fail(line, "invalid metric name");
  let rest = text.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith("{")) [labels, rest] = parseLabels(rest, line);
  const fields = rest.trim().split(/[ \t]+/);
  if (!/^[ \t]/.test(rest) || fields.length < 1 || fields.length > 2 || fields[0] === "") {
    fail(line, "expected a value and an optional timestamp");
  }
  if (fields.length === 2 && !/^-?\d+$/.test(fields[1])) fail(line, "invalid timestamp");
  return { name, labels, value: parseValue(fields[0], line) };
};

const unescapeHelp = (raw: string): string =>
  raw.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\"));

type LinedSample = Sample & { readonly line: number };

interface Building {
  name: string;
  help: string;
  type: Family["type"];
  samples: Array<LinedSample>;
}

const seriesKey = (labels: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

// The family a sample belongs to: its own name, or the histogram/summary it is a part of.
const familyName = (sample: string, families: ReadonlyMap<string, Building>): string => {
  const base = sample.replace(/_(bucket|sum|count)$/, "");
  const parent = families.get(base);
  return base !== sample && parent !== undefined &&
      (parent.type === "histogram" || (parent.type === "summary" && !sample.endsWith("_bucket")))
    ? base
    : sample;
};

const histogramSeries = (f: Building): Series[] => {
  const bySeries = new Map<string, { labels: Record<string, string>; parts: LinedSample[] }>();
  for (const s of f.samples) {
    const { le, ...labels } = s.labels;
    if (s.name.endsWith("_bucket") ? le === undefined : le !== undefined) {
      fail(s.line, `${s.name}: le belongs on _bucket samples only`);
    }
    const key = seriesKey(labels);
    const entry = bySeries.get(key) ?? { labels, parts: [] };
    entry.parts.push(s);
    bySeries.set(key, entry);
  }
  return [...bySeries.values()].map(({ labels, parts }) => {
    const buckets = parts.filter((p) => p.name.endsWith("_bucket"));
    const count = parts.find((p) => p.name === `${f.name}_count`)?.value;
    const sum = parts.find((p) => p.name === `${f.name}_sum`)?.value;
    const where = `${f.name}${seriesKey(labels)}`;
    if (count === undefined || sum === undefined) throw new Error(`${where}: no _count or _sum`);
    const bounds = buckets.map((b) => [parseValue(b.labels.le, b.line), b.value] as const);
    bounds.forEach(([le, n], i) => {
      if (i > 0 && (le <= bounds[i - 1][0] || n < bounds[i - 1][1])) {
        throw new Error(`${where}: bucket le=${le} out of order or not cumulative`);
      }
    });
    const inf = bounds.at(-1);
    if (inf?.[0] !== Infinity || inf[1] !== count) {
      throw new Error(`${where}: the +Inf bucket is missing or differs from _count`);
    }
    return {
      labels,
      buckets: Object.fromEntries(buckets.map((b) => [b.labels.le, b.value])),
      count,
      sum,
    };
  });
};

const toFamily = (f: Building): Family => {
  const seen = new Set<string>();
  for (const s of f.samples) {
    const key = `${s.name}${seriesKey(s.labels)}`;
    if (seen.has(key)) fail(s.line, `series ${key} repeated`);
    seen.add(key);
  }
  const series = f.type === "histogram"
    ? histogramSeries(f)
    : f.samples.map((s) => ({ labels: s.labels, value: s.value }));
  return { name: f.name, help: f.help, type: f.type, series };
};

// Counters and gauges as the npm parser reads them, to compare with ours.
const crossCheck = (text: string, families: ReadonlyArray<Family>) => {
  // deno-lint-ignore no-explicit-any -- the package ships no type declarations
  const theirs: Array<any> = parsePrometheusTextFormat(text);
  for (const f of families) {
    const other = theirs.find((t) => t.name === f.name);
    if (other?.type !== f.type.toUpperCase()) {
      throw new Error(`${f.name}: the npm parser reads ${other?.type} families`);
    }
    if (f.type === "histogram") continue;
    const read = other.metrics.map((m: { labels?: Record<string, string>; value: string }) => ({
      labels: m.labels ?? {},
      value: parseValue(m.value, 0),
    }));
    if (JSON.stringify(read) !== JSON.stringify(f.series)) {
      throw new Error(`${f.name}: the npm parser reads ${JSON.stringify(read)}`);
    }
  }
};

/** Parses an exposition; throws on anything a Prometheus server would refuse. */
export const parseExposition = (text: string): ReadonlyArray<Family> => {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with \\n");
  const families = new Map<string, Building>();
  const closed = new Set<string>();
  let current: Building | undefined;
  const enter = (name: string, line: number): Building => {
    if (current?.name === name) return current;
    if (closed.has(name) || families.has(name)) fail(line, `the lines of ${name} are not grouped`);
    if (current) closed.add(current.name);
    current = { name, help: "", type: "untyped", samples: [] };
    families.set(name, current);
    return current;
  };
  text.split("\n").slice(0, -1).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
    if (meta) {
      const [, kind, name, rest = ""] = meta;
      if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)![0] !== name) {
        fail(line, `invalid metric name ${name}`);
      }
      const f = enter(name, line);
      if (kind === "HELP") {
        f.help = unescapeHelp(rest);
        return;
      }
      if (!TYPES.has(rest)) fail(line, `unknown type "${rest}"`);
      if (f.samples.length > 0 || f.type !== "untyped") fail(line, `TYPE of ${name} too late`);
      f.type = rest as Family["type"];
      return;
    }
    if (raw.startsWith("#")) return;
    const sample = parseSample(raw, line);
    enter(familyName(sample.name, families), line).samples.push({ ...sample, line });
  });
  const parsed = [...families.values()].map(toFamily);
  crossCheck(text, parsed);
  return parsed;
};

/** The family named `name`; throws when it is absent. */
export const family = (families: ReadonlyArray<Family>, name: string): Family => {
  const found = families.find((f) => f.name === name);
  if (!found) {
    throw new Error(`no family ${name} (have: ${families.map((f) => f.name).join(", ")})`);
  }
  return found;
};

/** The series of `name` whose labels are exactly `labels`, if any. */
export const seriesOf = (
  families: ReadonlyArray<Family>,
  name: string,
  labels: Readonly<Record<string, string>>,
): Series | undefined =>
  family(families, name).series.find((s) => seriesKey(s.labels) === seriesKey(labels));

/** The value of a counter or gauge series; throws when the series is absent. */
export const valueOf = (
  families: ReadonlyArray<Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number => {
  const s = seriesOf(families, name, labels);
  if (s?.value === undefined) throw new Error(`no series ${name}${JSON.stringify(labels)}`);
  return s.value;
};
