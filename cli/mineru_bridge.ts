/**
 * `deno task mineru-bridge [--mineru-url URL] [--once] [--store DIR|URL]`: sends the PDFs of jobs
 * paused at their gate to MinerU, stores the parsed documents and sets `pdf_ir_ready` (the sensor
 * then resumes them). GPU failures fail the job at once. The URL may come from `MINERU_URL`.
 * Lineage goes where each job's run was told to send it, unless `--lineage` / `--events` say
 * otherwise.
 *
 * @module
 */
import { Duration, Effect, Layer, Result } from "effect";
import { type BridgeReport, bridgeTick } from "../pipelines/mineru_bridge.ts";
import {
  applyAnswer,
  type MineruAnswer,
  type MineruQueuePort,
  requestTick,
} from "../pipelines/mineru_queue_bridge.ts";
import type { JobDestinations } from "../pipelines/ledger.ts";
import { Transient } from "../stages/errors.ts";
import { kafkaConfigFromEnv } from "../adapters/kafka/kafka_client.ts";
import {
  makeMineruQueueProducer,
  makeMineruResultsConsumer,
  MINERU_QUEUE_TOPIC,
  type MineruResult,
} from "../adapters/kafka/mineru_queue.ts";
import { loadParsedDocument } from "../adapters/mineru/parsed_document.ts";
import { pollIntervalMs } from "../pipelines/sensor.ts";
import { parseArgs, UsageError } from "./_args.ts";
import {
  defaultLineageDir,
  destinationFlags,
  destinationsFromFlags,
  destinationUsage,
  flushLineage,
  namespaceFromEnv,
  openForCommand,
  storeSpec,
  wantsHelp,
  withUsage,
  workStart,
} from "./_command.ts";
import { mineruUrlFrom, parserLayer, runtimeLayer } from "./_runtime.ts";
import * as CommandMetrics from "./_metrics.ts";

const USAGE =
  "usage: deno task mineru-bridge [--mineru-url URL] [--via http|kafka] [--once] [--store DIR|URL] [--json]\n" +
  "  --via kafka publishes requests to mineru.queue.v1 and applies answers from mineru.results.v1\n" +
  "  (brokers from KAFKA_BROKERS); --once then only sends what is ready\n" +
  `${destinationUsage}\n` +
  CommandMetrics.usage;

const describe = (r: BridgeReport): string =>
  [
    ...r.parsed.map((id) => `parsed ${id}`),
    ...r.failed.map((f) => `failed ${f.jobId}: ${f.reason}: ${f.error}`),
    `${r.parsed.length} parsed, ${r.failed.length} failed`,
  ].join("\n");

const answerOf = (result: MineruResult): MineruAnswer =>
  result.type === "org.medicalkg.mineru.completed"
    ? {
      type: "completed",
      jobId: result.data.job_id,
      documentUri: result.data.document_uri,
      ...(result.data.duration_ms !== undefined ? { durationMs: result.data.duration_ms } : {}),
    }
    : {
      type: "failed",
      jobId: result.data.job_id,
      reason: result.data.reason,
      message: result.data.error_message,
    };

/**
 * `--via kafka`: publishes `mineru.requested` to `mineru.queue.v1` for external GPU workers and
 * applies their answers from `mineru.results.v1`. Brokers and security come from `KAFKA_*`.
 */
const viaKafka = async (
  once: boolean,
  storeFlag: string | undefined,
  metrics: CommandMetrics.MetricsOptions,
  given: JobDestinations,
): Promise<number> => {
  const kafka = kafkaConfigFromEnv(Deno.env.toObject());
  if (Result.isFailure(kafka)) throw new UsageError(`--via kafka: ${kafka.failure.message}`);
  const spec = storeSpec(storeFlag);
  const opened = await openForCommand("mineru-bridge", spec);
  if (typeof opened === "number") return opened;
  const { store, config } = opened;
  const since = await workStart(store);
  let metered: CommandMetrics.Endpoint | undefined;
  try {
    metered = await CommandMetrics.start("mineru-bridge", metrics);
  } catch (e) {
    await store.close();
    throw e;
  }
  const layer = Layer.provideMerge(
    CommandMetrics.layer(metered),
    runtimeLayer(store, { storeDir: spec, namespace: namespaceFromEnv(Deno.env) }),
  );
  const producer = makeMineruQueueProducer(kafka.success);
  const queue: MineruQueuePort = {
    service: `mineru-queue@${kafka.success.brokers.join(",")}`,
    request: (data) =>
      Effect.asVoid(producer.request(data)).pipe(
        Effect.mapError((e) => new Transient({ message: e.message })),
      ),
  };
  const consumer = makeMineruResultsConsumer(kafka.success);
  try {
    const sent = await Effect.runPromise(requestTick(config, queue).pipe(Effect.provide(layer)));
    console.log(`${sent.length} requested on ${MINERU_QUEUE_TOPIC}`);
    if (once) return 0;
    await Effect.runPromise(consumer.run(
      (result) =>
        applyAnswer(config, queue, answerOf(result), loadParsedDocument).pipe(
          Effect.tap((outcome) =>
            Effect.sync(() => console.log(`${outcome} ${result.data.job_id}`))
          ),
          Effect.provide(layer),
        ),
      (error) => console.error(`mineru-bridge: skipped an invalid result: ${error.message}`),
    ));
    // Keep requesting what becomes ready while the consumer applies answers.
    await Effect.runPromise(
      Effect.forever(
        Effect.andThen(
          Effect.sleep(Duration.millis(pollIntervalMs(config))),
          requestTick(config, queue).pipe(Effect.provide(layer)),
        ),
      ),
    );
    return 0;
  } finally {
    await metered?.close();
    await Effect.runPromise(consumer.close());
    await Effect.runPromise(producer.close());
    await flushLineage(store, { lineageDir: defaultLineageDir(spec), given, since });
    await store.close();
  }
};

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("mineru-bridge", USAGE, async () => {
    if (wantsHelp(args)) {
      console.log(USAGE);
      return 0;
    }
    const { flags } = parseArgs(args, {
      "mineru-url": { type: "string" },
      via: { type: "string" },
      once: { type: "boolean" },
      store: { type: "string" },
      json: { type: "boolean" },
      ...destinationFlags,
      ...CommandMetrics.flags,
    });
    const given = destinationsFromFlags(flags);
    const via = (flags.via as string | undefined) ?? "http";
    if (via !== "http" && via !== "kafka") {
      throw new UsageError(`--via: expected http or kafka, got "${via}"`);
    }
    if (via === "kafka") {
      return await viaKafka(
        flags.once === true,
        flags.store as string | undefined,
        CommandMetrics.optionsFrom(flags),
        given,
      );
    }
    const mineruUrl = mineruUrlFrom(
      flags["mineru-url"] as string | undefined,
      Deno.env.get("MINERU_URL"),
    );
    if (!mineruUrl) {
      throw new UsageError("a MinerU URL is required (--mineru-url URL or MINERU_URL)");
    }
    const spec = storeSpec(flags.store as string | undefined);
    const opened = await openForCommand("mineru-bridge", spec);
    if (typeof opened === "number") return opened;
    const { store, config } = opened;
    const since = await workStart(store);
    let failed = 0;
    let metered: CommandMetrics.Endpoint | undefined;
    const pass = bridgeTick(config).pipe(
      Effect.tap((report) =>
        Effect.sync(() => {
          failed += report.failed.length;
          console.log(flags.json ? JSON.stringify(report) : describe(report));
        })
      ),
    );
    const program = flags.once
      ? pass
      : Effect.forever(Effect.andThen(pass, Effect.sleep(Duration.millis(pollIntervalMs(config)))));
    try {
      metered = await CommandMetrics.start("mineru-bridge", CommandMetrics.optionsFrom(flags));
      await Effect.runPromise(program.pipe(
        Effect.provide(CommandMetrics.layer(metered)),
        Effect.provide(Layer.mergeAll(
          runtimeLayer(store, { storeDir: spec, namespace: namespaceFromEnv(Deno.env) }),
          parserLayer(mineruUrl),
        )),
      ));
      return failed > 0 ? 1 : 0;
    } finally {
      await metered?.close();
      await flushLineage(store, { lineageDir: defaultLineageDir(spec), given, since });
      await store.close();
    }
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
