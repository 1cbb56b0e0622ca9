/**
 * Stage contracts: what a stage type is, what an implementation of one declares, and
 * {@link defineStage}, the one way stages are made, the kit's built-in ones included.
 *
 * A stage definition names its type (what pipeline YAML writes as `type:`), the upstream outputs
 * it reads (`input`: a zod schema per upstream stage type), what it produces (`output`, checked
 * before it is checkpointed as JSON) and what its `config:` block accepts (`config`). The loader
 * checks pipelines against these declarations; the runner hands each attempt the declared inputs
 * and the decoded configuration.
 *
 * @module
 */
import type { Effect } from "effect";
import { z } from "zod";
import type { StageContext } from "./context.ts";
import type { StageError } from "./errors.ts";
import type { IngestRequest, PdfReceipt } from "./ir.ts";

/**
 * A stage type as written in pipeline YAML (`type:`): one of the built-in types (`Ingest`,
 * `Download`, `Gate`, `Parse`, `Chunk`, `Embed`, `Index`, `Extract`, `KG`) or a type a user
 * defined with {@link defineStage}.
 */
export type StageType = string;

/** The built-in stage types, in pipeline order. */
export const builtinStageTypes: ReadonlyArray<StageType> = [
  "Ingest",
  "Download",
  "Gate",
  "Parse",
  "Chunk",
  "Embed",
  "Index",
  "Extract",
  "KG",
];

/** What a stage reads: a schema of the output of each upstream stage type it needs. */
export type InputSchemas = Readonly<Record<string, z.ZodType>>;

/**
 * What one attempt of a stage is given: the job's ingest request and, under each type the stage
 * declared in `input`, the output of the nearest finished upstream stage of that type.
 */
export type StageInputs<I extends InputSchemas = InputSchemas> =
  & { readonly request: IngestRequest }
  & { readonly [K in keyof I]: z.output<I[K]> };

/** Ledger fields a stage's success sets besides its checkpoint (read by gates and bridges). */
export interface StageLedgerEffects {
  /** Sets `pdf_downloaded`. */
  readonly pdfDownloaded?: boolean;
  /** Records the downloaded PDF. */
  readonly pdf?: PdfReceipt;
}

/** A column of a stage's output, for the OpenLineage `schema` facet of its output dataset. */
export interface OutputField {
  /** The field's name. */
  readonly name: string;
  /** Its type, in words (`string`, `array` …). */
  readonly type: string;
  /** What it holds. */
  readonly description: string;
}

/**
 * An implementation of a stage type, as {@link defineStage} makes it. `Out` is what it produces,
 * `Cfg` its decoded `config:`, `I` the upstream outputs it reads and `R` the Effect services its
 * attempts need (provided by the runtime that runs it).
 */
export interface StageDefinition<
  Out = unknown,
  Cfg = unknown,
  I extends InputSchemas = InputSchemas,
  R = never,
> {
  /** The stage type this implements (`type:` in pipeline YAML). */
  readonly type: StageType;
  /**
   * The implementation's name, unique within its type: recorded in lineage, and chosen in YAML
   * with `config: { impl: NAME }` when a type has several.
   */
  readonly implementation: string;
  /** What the stage does, in one sentence (for `validate --explain` and docs). */
  readonly description: string;
  /** The upstream outputs the stage reads, by stage type; the loader checks each has a producer. */
  readonly input: I;
  /** What the stage produces; checked before the output is checkpointed. */
  readonly output: z.ZodType<Out>;
  /** What the stage's `config:` block accepts (without `impl`). */
  readonly config: z.ZodType<Cfg>;
  /** Runs one attempt. Expected failures are {@link StageError}s; it must not throw. */
  readonly run: (
    ctx: StageContext,
    inputs: StageInputs<I>,
    config: Cfg,
  ) => Effect.Effect<Out, StageError, R>;
  /** How many items the output holds (CloudEvent `output_count`, `outputStatistics.rowCount`). */
  readonly outputCount: (output: Out) => number;
  /**
   * The outside system an attempt calls (e.g. `clinicaltrials.gov`, `vllm:8000`): the key of the
   * circuit breaker and rate limiter it shares with every other stage calling the same system.
   * Undefined (or no function) for in-process work: then no breaker or rate limit applies.
   */
  readonly dependency?: (
    ctx: StageContext,
    inputs: StageInputs<I>,
    config: Cfg,
  ) => string | undefined;
  /** Whether a successful attempt used a GPU service (CloudEvent `gpu_used`). */
  readonly usesGpu: boolean;
  /**
   * Checks, before any job starts, that the outside service a configuration points at is ready
   * (a GPU server serving its model, a search cluster that is not red); its failure stops the
   * run with its message. Run once per distinct configuration.
   */
  readonly check?: (config: Cfg) => Effect.Effect<void, StageError>;
  /** Ledger fields a success sets (a download sets `pdf_downloaded`). */
  readonly ledgerEffects?: (output: Out) => StageLedgerEffects;
  /**
   * Other stage types this stage's output stands in for, and how to read them from it: an opened
   * gate hands on the parsed document as the `Parse` output of the stages after it.
   */
  readonly provides?: Readonly<Record<string, (output: Out) => unknown>>;
  /** The fields of the output, for the `schema` facet of the stage's output dataset. */
  readonly outputFields?: ReadonlyArray<OutputField>;
  /** Store tables the stage writes (lineage names them as its output datasets). */
  readonly writesTables?: ReadonlyArray<string>;
  /**
   * Where each output field comes from: output field → the `<StageType>.<field>` inputs it is
   * derived from (the `columnLineage` facet of the stage's outputs).
   */
  readonly columnLineage?: Readonly<Record<string, ReadonlyArray<string>>>;
  /**
   * `gate` for the ledger gate: the runner evaluates its condition and pauses the job instead of
   * calling `run`.
   */
  readonly control?: "gate";
}

/** Any stage definition (for registries and the runner). */
// deno-lint-ignore no-explicit-any
export type AnyStageDefinition = StageDefinition<any, any, any, any>;

/** What {@link defineStage} takes: a definition whose optional parts get their defaults. */
export interface StageDefinitionSpec<Out, Cfg, I extends InputSchemas, R> {
  /** The stage type (`type:` in pipeline YAML): a name starting with a capital letter. */
  readonly type: StageType;
  /** The implementation's name. @default the type in lower case */
  readonly implementation?: string;
  /** What the stage does, in one sentence. @default "" */
  readonly description?: string;
  /** The upstream outputs the stage reads, by stage type. @default {} */
  readonly input?: I;
  /** What the stage produces. */
  readonly output: z.ZodType<Out>;
  /** What its `config:` block accepts. @default an empty mapping (no keys allowed) */
  readonly config?: z.ZodType<Cfg>;
  /** Runs one attempt. */
  readonly run: (
    ctx: StageContext,
    inputs: StageInputs<I>,
    config: Cfg,
  ) => Effect.Effect<Out, StageError, R>;
  /** How many items the output holds. @default 1 */
  readonly outputCount?: (output: Out) => number;
  /** The outside system an attempt calls, keying its breaker and rate limit. */
  readonly dependency?: (
    ctx: StageContext,
    inputs: StageInputs<I>,
    config: Cfg,
  ) => string | undefined;
  /** Whether a success used a GPU service. @default false */
  readonly usesGpu?: boolean;
  /** Checks the configured outside service is ready, before any job starts. */
  readonly check?: (config: Cfg) => Effect.Effect<void, StageError>;
  /** Ledger fields a success sets. */
  readonly ledgerEffects?: (output: Out) => StageLedgerEffects;
  /** Stage types the output stands in for. */
  readonly provides?: Readonly<Record<string, (output: Out) => unknown>>;
  /** The output's fields, for lineage. */
  readonly outputFields?: ReadonlyArray<OutputField>;
  /** Store tables the stage writes. */
  readonly writesTables?: ReadonlyArray<string>;
  /** Where each output field comes from, for the `columnLineage` facet. */
  readonly columnLineage?: Readonly<Record<string, ReadonlyArray<string>>>;
  /** `gate` for the ledger gate. */
  readonly control?: "gate";
}

/**
 * The configuration of a stage that accepts none: an empty mapping.
 *
 * @category schemas
 */
export const noConfig: z.ZodType<Record<string, never>> = z.strictObject({});

/**
 * Defines a stage type (or another implementation of one): the loader checks pipelines against
 * what it declares, and the runner runs it under its policy with paired lineage.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { z } from "zod";
 * import { defineStage } from "./contracts.ts";
 * import { documentSchema } from "./ir_schemas.ts";
 *
 * const wordCount = defineStage({
 *   type: "WordCount",
 *   input: { Parse: documentSchema },
 *   output: z.object({ words: z.number().int() }),
 *   run: (_ctx, { Parse: doc }) =>
 *     Effect.succeed({
 *       words: doc.sections.flatMap((s) => s.blocks).map((b) => b.text).join(" ")
 *         .match(/\S+/g)?.length ?? 0,
 *     }),
 * });
 * console.log(wordCount.type, wordCount.implementation); // WordCount wordcount
 * ```
 *
 * @category constructors
 */
export const defineStage = <
  Out,
  I extends InputSchemas = Record<never, never>,
  Cfg = Record<string, never>,
  R = never,
>(spec: StageDefinitionSpec<Out, Cfg, I, R>): StageDefinition<Out, Cfg, I, R> => ({
  ...spec,
  type: spec.type,
  implementation: spec.implementation ?? spec.type.toLowerCase(),
  description: spec.description ?? "",
  input: spec.input ?? ({} as I),
  output: spec.output,
  config: spec.config ?? (noConfig as unknown as z.ZodType<Cfg>),
  run: spec.run,
  outputCount: spec.outputCount ?? (() => 1),
  usesGpu: spec.usesGpu ?? false,
});

/** The stage types a definition's output can serve as: its own, and those it provides. */
export const typesProvidedBy = (definition: AnyStageDefinition): ReadonlyArray<StageType> => [
  definition.type,
  ...Object.keys(definition.provides ?? {}),
];
