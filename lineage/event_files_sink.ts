/**
 * The Python client's `file` transport without `append`: every OpenLineage event in its own file,
 * `{prefix}-{YYYYMMDD-HHMMSS.ffffff}.json`, the time being when the event was written. Files are
 * created new, never overwritten: two events in the same microsecond get the next one.
 *
 * @module
 */
import { Clock, Effect } from "effect";
import { dirname, resolve } from "node:path";
import { type LineageSink, SinkError } from "./sink.ts";

const two = (n: number) => String(n).padStart(2, "0");

/**
 * `YYYYMMDD-HHMMSS.ffffff` of a time in microseconds since the epoch (local time, as Python).
 *
 * @category constructors
 */
export const fileStamp = (micros: number): string => {
  const d = new Date(Math.floor(micros / 1000));
  const fraction = String(Math.floor(micros % 1_000_000)).padStart(6, "0");
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-` +
    `${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}.${fraction}`;
};

/**
 * A sink writing each OpenLineage event to a new file named after `prefix` and the time.
 *
 * @category constructors
 */
export const makeEventFilesSink = (prefix: string, name?: string): LineageSink => {
  const base = resolve(prefix);
  const sinkName = name ?? `files:openlineage:${base}`;
  let last = 0;
  return {
    name: sinkName,
    channels: ["openlineage"],
    deliver: (events) =>
      Effect.gen(function* () {
        const now = (yield* Clock.currentTimeMillis) * 1000;
        yield* Effect.tryPromise({
          try: async () => {
            await Deno.mkdir(dirname(base), { recursive: true });
            for (const e of events) {
              last = Math.max(now, last + 1);
              for (;;) {
                try {
                  await Deno.writeTextFile(
                    `${base}-${fileStamp(last)}.json`,
                    JSON.stringify(e.payload) + "\n",
                    { createNew: true },
                  );
                  break;
                } catch (err) {
                  if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
                  last += 1;
                }
              }
            }
          },
          catch: (cause) =>
            new SinkError({
              sink: sinkName,
              message: String((cause as Error).message ?? cause),
              retryable: true,
            }),
        });
      }),
  };
};
