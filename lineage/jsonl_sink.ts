/**
 * The JSONL file sink: one event per line, appended. The embedded default writes OpenLineage
 * events to `openlineage.jsonl` and CloudEvents (structured mode) to `cloudevents.jsonl`.
 *
 * @module
 */
import { Effect } from "effect";
import { resolve } from "node:path";
import type { OutboxChannel } from "./outbox.ts";
import { type LineageSink, SinkError } from "./sink.ts";

/** A sink appending one channel's events to `path`. */
export const makeJsonlSink = (path: string, channel: OutboxChannel): LineageSink => {
  const file = resolve(path);
  const name = `jsonl:${channel}:${file}`;
  return {
    name,
    channels: [channel],
    deliver: (events) =>
      Effect.tryPromise({
        try: async () => {
          const lines = events.map((e) => JSON.stringify(e.payload) + "\n").join("");
          await Deno.mkdir(resolve(file, ".."), { recursive: true });
          await Deno.writeTextFile(file, lines, { append: true });
        },
        catch: (cause) =>
          new SinkError({
            sink: name,
            message: String((cause as Error).message ?? cause),
            retryable: true,
          }),
      }),
  };
};

/** The default pair of JSONL sinks in a lineage directory. */
export const jsonlSinks = (dir: string): ReadonlyArray<LineageSink> => [
  makeJsonlSink(resolve(dir, "openlineage.jsonl"), "openlineage"),
  makeJsonlSink(resolve(dir, "cloudevents.jsonl"), "cloudevents"),
];
