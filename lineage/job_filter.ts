/**
 * Job-name filters of the official clients' configuration: `filters: [{type: exact, match}]` or
 * `[{type: regex, regex}]`. An OpenLineage event whose job name matches any filter is not emitted:
 * the relay counts it as handled for that sink without delivering it.
 *
 * @module
 */
import type { OutboxRow } from "./outbox.ts";
import type { LineageSink } from "./sink.ts";
import type { RelaySink } from "./settlement.ts";

/** One filter. */
export type JobFilter =
  | { readonly type: "exact"; readonly match: string }
  | { readonly type: "regex"; readonly regex: string };

const matcher = (filter: JobFilter): (name: string) => boolean => {
  if (filter.type === "exact") return (name) => name === filter.match;
  // Anchored at the start, as Python's `re.match` that the official client uses.
  const re = new RegExp(`^(?:${filter.regex})`);
  return (name) => re.test(name);
};

/** Whether an event passes the filters (events of other channels always do). */
export const jobFilterPredicate = (
  filters: ReadonlyArray<JobFilter>,
): (event: OutboxRow) => boolean => {
  const matchers = filters.map(matcher);
  return (event) => {
    if (event.channel !== "openlineage") return true;
    const name = (event.payload.job as { name?: unknown } | undefined)?.name;
    return typeof name !== "string" || !matchers.some((m) => m(name));
  };
};

/** The sink with the filters applied (unchanged without filters). */
export const withJobFilters = (
  sink: LineageSink,
  filters: ReadonlyArray<JobFilter>,
): RelaySink => {
  if (filters.length === 0) return sink;
  const passes = jobFilterPredicate(filters);
  const previous = (sink as RelaySink).accepts;
  return { ...sink, accepts: (e) => passes(e) && (previous?.(e) ?? true) };
};
