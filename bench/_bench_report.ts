/**
 * What the pipeline bench reports from its measured runs: median rates with their ranges, the
 * table it prints, and the one-line JSON summary `--json` ends with.
 *
 * @module
 */
import { table } from "../cli/_output.ts";

/** The measured runs of one side of the bench. */
export interface Series {
  /** As the table names it. */
  readonly name: string;
  /** The summary's key prefix: `<key>_docs_per_s`, `<key>_docs_per_s_range`. */
  readonly key: string;
  /** Seconds of each measured run. */
  readonly seconds: ReadonlyArray<number>;
}

/** A side's median and spread, in documents per second. */
export interface Rate {
  readonly seconds: number;
  readonly docsPerSecond: number;
  /** Slowest and fastest run. */
  readonly range: readonly [number, number];
}

/** The middle value (the upper one of an even count). */
export const median = (xs: ReadonlyArray<number>): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The median run of `series` and its range, for `docs` documents a run. */
export const rateOf = (series: Series, docs: number): Rate => ({
  seconds: median(series.seconds),
  docsPerSecond: docs / median(series.seconds),
  range: [docs / Math.max(...series.seconds), docs / Math.min(...series.seconds)],
});

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

/** The table: each side's median time, rate, range, and how the kit's rate compares to it. */
export const rateTable = (
  series: ReadonlyArray<Series>,
  docs: number,
  kitDocsPerSecond: number,
): string =>
  table(
    ["runner", "seconds", "docs/s", "docs/s range", "kit ÷ runner"],
    series.map((s) => {
      const rate = rateOf(s, docs);
      return [
        s.name,
        rate.seconds < 0.1 ? rate.seconds.toFixed(4) : rate.seconds.toFixed(3),
        rate.docsPerSecond.toFixed(1),
        `${rate.range[0].toFixed(1)}–${rate.range[1].toFixed(1)}`,
        (kitDocsPerSecond / rate.docsPerSecond).toPrecision(3),
      ];
    }),
  );

/**
 * The summary's rate fields, `<key>_docs_per_s` and `<key>_docs_per_s_range` for every side (one
 * decimal: run-to-run spread is far larger).
 */
export const rateFields = (
  series: ReadonlyArray<Series>,
  docs: number,
): Record<string, number | readonly [number, number]> =>
  Object.fromEntries(series.flatMap((s) => {
    const rate = rateOf(s, docs);
    return [
      [`${s.key}_docs_per_s`, round(rate.docsPerSecond)],
      [`${s.key}_docs_per_s_range`, [round(rate.range[0]), round(rate.range[1])] as const],
    ];
  }));

/** `x / y` to three significant digits, or null when a side did not run. */
export const ratio = (x: number, y: number | undefined): number | null =>
  y === undefined ? null : Number((x / y).toPrecision(3));
