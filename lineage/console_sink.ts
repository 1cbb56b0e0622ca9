/**
 * The console transport: one JSON line per OpenLineage event on stderr, as the official clients'
 * `console` transport prints them.
 *
 * @module
 */
import { Effect } from "effect";
import type { LineageSink } from "./sink.ts";

/** Options of {@link makeConsoleSink}. */
export interface ConsoleSinkOptions {
  /** Where each line goes. @default console.error (stderr) */
  readonly write?: (line: string) => void;
  /** The relay's cursor name for this sink. @default "console" */
  readonly name?: string;
}

/**
 * A sink printing each OpenLineage event as one JSON line.
 *
 * @example
 * ```ts
 * import { makeConsoleSink } from "./console_sink.ts";
 * const lines: string[] = [];
 * const sink = makeConsoleSink({ write: (line) => lines.push(line) });
 * ```
 */
export const makeConsoleSink = (options: ConsoleSinkOptions = {}): LineageSink => {
  const write = options.write ?? ((line: string) => console.error(line));
  return {
    name: options.name ?? "console",
    channels: ["openlineage"],
    deliver: (events) =>
      Effect.sync(() => {
        for (const e of events) write(JSON.stringify(e.payload));
      }),
  };
};
