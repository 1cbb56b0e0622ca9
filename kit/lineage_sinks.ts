/**
 * The sinks every command delivers lineage to: the OpenLineage transports of the lineage
 * configuration (`--lineage`, `OPENLINEAGE_*`, openlineage.yml, or the JSONL default) and one
 * CloudEvents sink (`--events`, default JSONL next to the OpenLineage files: the `--lineage`
 * directory when one is given, else the store's lineage directory). A process working on jobs
 * another run started delivers to the destinations recorded with those jobs
 * ({@link destinationSinks}).
 *
 * @module
 */
import { Effect } from "effect";
import { resolve } from "node:path";
import { makeOpenLineageKafkaSink } from "../adapters/kafka/openlineage_kafka_sink.ts";
import { type LineageConfig, resolveLineageConfig, sinksFor } from "../lineage/config.ts";
import type { LineageSink } from "../lineage/sink.ts";
import type { JobDestinations } from "../pipelines/ledger.ts";
import { eventsSinkFor } from "./events_sink.ts";
import { SetupError } from "./setup_error.ts";

/** A command's sinks; `close` ends their connections. */
export interface CommandSinks {
  /** The sinks, OpenLineage first, then CloudEvents. */
  readonly sinks: ReadonlyArray<LineageSink>;
  /** Ends the sinks' connections (a Kafka producer). */
  readonly close: () => Promise<void>;
}

/** The OpenLineage sinks of the configuration plus the CloudEvents sink of `events`. */
export const commandSinks = (
  lineage: LineageConfig,
  options: { readonly lineageDir: string; readonly events?: string },
): CommandSinks => {
  const env = Deno.env.toObject();
  const openlineage = sinksFor(lineage, {
    lineageDir: options.lineageDir,
    kafkaSink: (t) => makeOpenLineageKafkaSink(t, env),
  }).filter((s) => s.channels.includes("openlineage"));
  // CloudEvents stay beside the OpenLineage files: in a JSONL directory the configuration
  // names (`--lineage DIR`), else in the store's lineage directory.
  const jsonlDir = lineage.transports.flatMap((t) => t.type === "jsonl" && t.dir ? [t.dir] : [])[0];
  const events = eventsSinkFor(options.events ?? jsonlDir ?? options.lineageDir, env);
  return { sinks: [...openlineage, events.sink], close: events.close };
};

const isUrl = (value: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(value);

/**
 * The `--lineage` and `--events` values as they are recorded with a job: directories made
 * absolute (a later process may run elsewhere), URLs as given.
 *
 * @example
 * ```ts
 * import { destinationsOf } from "./lineage_sinks.ts";
 *
 * console.log(destinationsOf({ lineage: "http://marquez:5000", events: "out" }, "/srv"));
 * // { lineage: "http://marquez:5000", events: "/srv/out" }
 * ```
 */
export const destinationsOf = (
  given: { readonly lineage?: string; readonly events?: string },
  cwd: string = Deno.cwd(),
): JobDestinations => ({
  ...(given.lineage === undefined
    ? {}
    : { lineage: isUrl(given.lineage) ? given.lineage : resolve(cwd, given.lineage) }),
  ...(given.events === undefined
    ? {}
    : { events: isUrl(given.events) ? given.events : resolve(cwd, given.events) }),
});

const keyOf = (d: JobDestinations): string => JSON.stringify([d.lineage ?? null, d.events ?? null]);

/**
 * The sinks of several destinations at once (those recorded with the jobs a process works on),
 * each resolved as `run-pipeline` resolves its flags (an absent value: the `OPENLINEAGE_*`
 * settings, then `lineageDir`). A sink two destinations share is delivered to once. No
 * destinations at all: the defaults. A destination the configuration cannot take is a
 * {@link SetupError} naming it.
 */
export const destinationSinks = async (
  destinations: ReadonlyArray<JobDestinations>,
  options: { readonly lineageDir: string; readonly env?: { get(key: string): string | undefined } },
): Promise<CommandSinks> => {
  const distinct = [...new Map((destinations.length === 0 ? [{}] : destinations).map((d) => [
    keyOf(d),
    d,
  ])).values()];
  const built: Array<CommandSinks> = [];
  const close = () => Promise.all(built.map((b) => b.close())).then(() => {});
  try {
    for (const d of distinct) {
      const resolved = await Effect.runPromise(Effect.result(resolveLineageConfig({
        env: options.env ?? Deno.env,
        cwd: Deno.cwd(),
        ...(d.lineage === undefined ? {} : { flag: d.lineage }),
      })));
      if (resolved._tag === "Failure") {
        throw new SetupError(
          resolved.failure.problems.map((p) => `${p.where}: ${p.message}`).join("\n"),
          "config",
        );
      }
      built.push(commandSinks(resolved.success, {
        lineageDir: options.lineageDir,
        ...(d.events === undefined ? {} : { events: d.events }),
      }));
    }
  } catch (e) {
    await close();
    throw e;
  }
  const byName = new Map<string, LineageSink>();
  for (const s of built.flatMap((b) => b.sinks)) if (!byName.has(s.name)) byName.set(s.name, s);
  return { sinks: [...byName.values()], close };
};
