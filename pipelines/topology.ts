/**
 * The shape of a pipeline file (`pipelines/*.yaml`): its zod schema, the decoded
 * {@link PipelineSpec}, and gate conditions with their pure evaluation against ledger fields.
 *
 * @module
 */
import { z } from "zod";
import type { StageType } from "../stages/contracts.ts";
import type { SourceName } from "../stages/ir.ts";
import { type Job, jobStatuses } from "./ledger.ts";
import { oneOf, strictMapping } from "../policies/problem.ts";

/** A job field a gate condition may read. */
export type LedgerField = "pdf_downloaded" | "pdf_ir_ready" | "status" | "current_stage";

/** Every ledger field a condition may read. */
export const ledgerFields: ReadonlyArray<LedgerField> = [
  "pdf_downloaded",
  "pdf_ir_ready",
  "status",
  "current_stage",
];

/** How a condition compares its ledger field. */
export type ConditionOp = "equals" | "not_equals" | "exists" | "in";

/** Every condition operator. */
export const conditionOps: ReadonlyArray<ConditionOp> = ["equals", "not_equals", "exists", "in"];

/** A gate condition: a comparison of one ledger field, or all / any of several conditions. */
export type Condition =
  | { readonly field: LedgerField; readonly op: ConditionOp; readonly value?: unknown }
  | { readonly all: ReadonlyArray<Condition> }
  | { readonly any: ReadonlyArray<Condition> };

/** What a gate waits for, where the job resumes, and for how long it may wait. */
export interface GateSpec {
  /** What must hold for the job to go on (`condition`). */
  readonly condition: Condition;
  /** The stage the job resumes at when the condition holds (`resume_stage`); after the gate. */
  readonly resumeStage: string;
  /**
   * Seconds a job may wait at the gate before it fails with GateTimedOut (`timeout_seconds`).
   * @default 900
   */
  readonly timeoutSeconds: number;
  /**
   * Seconds between the sensor's checks of the condition (`poll_interval_seconds`), at most
   * `timeoutSeconds`; the sensor polls at the shortest interval of all gates. @default 10
   */
  readonly pollIntervalSeconds: number;
}

/** One stage of a pipeline, decoded. */
export interface StageSpec {
  /** The stage's name, unique in its pipeline: lowercase letters, digits and `_`, e.g. `chunk`. */
  readonly name: string;
  /**
   * The stage type as the registry names it (the seed spelling `IngestStage` is read as
   * `Ingest`), which picks its implementation.
   */
  readonly type: StageType;
  /**
   * The name of the resilience policy the stage runs under (`policies/resilience.yaml`). A gate
   * may omit it: it makes one attempt and waits by its own timeout ({@link GATE_POLICY}).
   */
  readonly policy: string;
  /** The stages that must finish before this one (`depends_on`); empty when none. */
  readonly dependsOn: ReadonlyArray<string>;
  /** The stage's `config` mapping as written (its `impl` included); `{}` when absent. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The implementation `config.impl` names; the type's default when absent. */
  readonly impl?: string;
  /** Dataset names the stage writes, for lineage. */
  readonly outputs?: ReadonlyArray<string>;
  /** At most this many attempts of the stage run at once; overrides the policy's `concurrency`. */
  readonly concurrency?: number;
  /** Present exactly on stages of type `Gate`. */
  readonly gate?: GateSpec;
}

/** One pipeline file, decoded. */
export interface PipelineSpec {
  /** The file as problems name it, e.g. `pipelines/auto.yaml`. */
  readonly file: string;
  /**
   * Where the file was read from, absolute (`sourceCodeLocation` names it); absent for a text
   * parsed without a file, whose `file` is then taken relative to the kit's folder.
   */
  readonly path?: string;
  /** The pipeline's name (`name`), unique across pipeline files, e.g. `pdf-two-phase`. */
  readonly name: string;
  /** The pipeline's version (`version`), e.g. `1.0.0`. */
  readonly version: string;
  /** What the pipeline does, in words (`description`). */
  readonly description: string;
  /** The sources whose jobs are routed to this pipeline (`applicable_sources`). */
  readonly applicableSources: ReadonlyArray<SourceName>;
  /** The stages in declaration order. */
  readonly stages: ReadonlyArray<StageSpec>;
  /** Who owns the pipeline (`owners`), for the lineage `ownership` facet of its jobs. */
  readonly owners?: ReadonlyArray<{ readonly name: string; readonly type?: string }>;
  /** The pipeline's tags (`tags`), for the lineage `tags` facet of its jobs. */
  readonly tags?: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** The policy name of a gate written without one: one attempt, bounded by the gate's timeout. */
export const GATE_POLICY = "gate";

/** Whether a type written in YAML is the ledger gate (`Gate`, or the seed spelling `GateStage`). */
export const isGateType = (type: unknown): boolean => type === "Gate" || type === "GateStage";

/** The keys only a Gate stage may have. */
export const gateKeys: ReadonlyArray<string> = [
  "condition",
  "resume_stage",
  "timeout_seconds",
  "poll_interval_seconds",
];

type Ctx = z.core.$RefinementCtx<unknown>;

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

// Issues of a nested decode, re-reported under the current path (zod prefixes it).
const report = (
  ctx: Ctx,
  issues: ReadonlyArray<z.core.$ZodIssue>,
  prefix: ReadonlyArray<string>,
) => {
  for (const issue of issues) {
    const raw = { ...issue, input: issue.input, path: [...prefix, ...issue.path] };
    ctx.issues.push(raw as z.core.$ZodRawIssue);
  }
};

const notMapping = (ctx: Ctx, input: unknown): never => {
  ctx.issues.push({ code: "invalid_type", expected: "object", input, path: [] });
  return z.NEVER;
};

const ledgerField = oneOf("ledger_field", ledgerFields);

// The values a field can hold, so a condition that can never hold is caught at load time.
const valueSchemas: Readonly<Record<LedgerField, z.ZodType>> = {
  pdf_downloaded: z.boolean(),
  pdf_ir_ready: z.boolean(),
  status: oneOf("job status", jobStatuses),
  current_stage: z.string(),
};

const seedForm = strictMapping({ ledger_field: ledgerField, equals: z.unknown() });
const opForm = strictMapping({
  ledger_field: ledgerField,
  op: oneOf("op", conditionOps),
  value: z.unknown().optional(),
});
const allForm = strictMapping({ all: z.array(z.lazy(() => conditionSchema)).min(1) });
const anyForm = strictMapping({ any: z.array(z.lazy(() => conditionSchema)).min(1) });

const checkValue = (ctx: Ctx, schema: z.ZodType, value: unknown, key: string): void => {
  if (value === undefined) {
    ctx.issues.push({
      code: "invalid_type",
      expected: "nonoptional",
      input: undefined,
      path: [key],
    });
    return;
  }
  const checked = schema.safeParse(value, { reportInput: true });
  if (!checked.success) report(ctx, checked.error.issues, [key]);
};

const comparison = (ctx: Ctx, raw: Record<string, unknown>): Condition => {
  const seed = !("op" in raw) && "equals" in raw;
  const decoded = (seed ? seedForm : opForm).safeParse(raw, { reportInput: true });
  if (!decoded.success) return report(ctx, decoded.error.issues, []), z.NEVER;
  const field = decoded.data.ledger_field;
  const op: ConditionOp = "op" in decoded.data ? decoded.data.op : "equals";
  const key = seed ? "equals" : "value";
  const value = raw[key];
  if (op === "exists" && value !== undefined) {
    ctx.issues.push({
      code: "custom",
      message: `is not allowed with op "exists"`,
      params: { field: true },
      input: value,
      path: [key],
    });
  } else if (op !== "exists") {
    const schema = op === "in" ? z.array(valueSchemas[field]).min(1) : valueSchemas[field];
    checkValue(ctx, schema, value, key);
  }
  return op === "exists" ? { field, op } : { field, op, value };
};

/**
 * A gate condition: `{ledger_field, equals}` (the original form), `{ledger_field, op, value?}`,
 * `{all: [conditions]}` or `{any: [conditions]}`. Decodes to a {@link Condition}.
 */
export const conditionSchema: z.ZodType<Condition> = z.unknown().transform(
  (raw, ctx): Condition => {
    if (!isRecord(raw)) return notMapping(ctx, raw);
    const group = "all" in raw ? allForm : "any" in raw ? anyForm : undefined;
    if (group === undefined) return comparison(ctx, raw);
    const decoded = group.safeParse(raw, { reportInput: true });
    if (!decoded.success) return report(ctx, decoded.error.issues, []), z.NEVER;
    return decoded.data;
  },
);

const stageName = z.string().regex(/^[a-z][a-z0-9_]*$/);

// Marquez rejects `:` and `#` in dataset names.
const datasetName = z.string().refine((name) => /^[^:#\s]+$/.test(name), {
  message: "must be non-empty, without ':', '#' or spaces",
  params: { field: true },
});

const stageShape = {
  name: stageName,
  type: z.string().min(1),
  policy: z.string().min(1),
  depends_on: z.array(z.string()).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  outputs: z.array(datasetName).optional(),
  concurrency: z.number().int().min(1).optional(),
};

const plainStage = strictMapping(stageShape);

const gateStage = strictMapping({
  ...stageShape,
  policy: z.string().min(1).optional(),
  condition: conditionSchema,
  resume_stage: z.string(),
  timeout_seconds: z.number().positive().default(900),
  poll_interval_seconds: z.number().positive().default(10),
}).superRefine((stage, ctx) => {
  const { poll_interval_seconds: poll, timeout_seconds: timeout } = stage;
  // Only against a valid timeout: a bad one is already reported on its own.
  if (typeof poll === "number" && typeof timeout === "number" && timeout > 0 && poll > timeout) {
    ctx.addIssue({
      code: "custom",
      message: `must be <= timeout_seconds (${timeout}) (got ${poll})`,
      params: { field: true },
      path: ["poll_interval_seconds"],
    });
  }
}, { when: (payload) => isRecord(payload.value) });

type PlainStageYaml = z.infer<typeof plainStage>;
type GateStageYaml = z.infer<typeof gateStage>;

const toStageSpec = (stage: PlainStageYaml | GateStageYaml): StageSpec => ({
  name: stage.name,
  type: isGateType(stage.type) ? "Gate" : stage.type,
  policy: stage.policy ?? GATE_POLICY,
  dependsOn: stage.depends_on ?? [],
  config: stage.config ?? {},
  ...(typeof stage.config?.impl === "string" ? { impl: stage.config.impl } : {}),
  ...(stage.outputs === undefined ? {} : { outputs: stage.outputs }),
  ...(stage.concurrency === undefined ? {} : { concurrency: stage.concurrency }),
  ...("condition" in stage
    ? {
      gate: {
        condition: stage.condition,
        resumeStage: stage.resume_stage,
        timeoutSeconds: stage.timeout_seconds,
        pollIntervalSeconds: stage.poll_interval_seconds,
      },
    }
    : {}),
});

const misplacedGateKeys = (
  ctx: Ctx,
  raw: Record<string, unknown>,
  isKnownType: (type: string) => boolean,
): boolean => {
  const known = typeof raw.type === "string" && isKnownType(raw.type);
  // With an unknown type the type problem is the one worth reading; the keys may be right.
  const misplaced = known ? gateKeys.filter((key) => key in raw) : [];
  for (const key of misplaced) {
    ctx.issues.push({
      code: "custom",
      message: "is only allowed on Gate stages",
      params: { field: true },
      input: raw[key],
      path: [key],
    });
  }
  return misplaced.length > 0;
};

/**
 * One stage as written in YAML; gate keys are required on Gate stages and refused on stages of
 * other known types (`isKnownType`; on an unknown type, the type is the problem reported).
 */
export const stageSchemaFor = (
  isKnownType: (type: string) => boolean,
): z.ZodType<StageSpec> =>
  z.unknown().transform((raw, ctx): StageSpec => {
    if (!isRecord(raw)) return notMapping(ctx, raw);
    const gate = isGateType(raw.type);
    const misplaced = !gate && misplacedGateKeys(ctx, raw, isKnownType);
    const input = gate
      ? raw
      : Object.fromEntries(Object.entries(raw).filter(([key]) => !gateKeys.includes(key)));
    const decoded = (gate ? gateStage : plainStage).safeParse(input, { reportInput: true });
    if (!decoded.success) return report(ctx, decoded.error.issues, []), z.NEVER;
    return misplaced ? z.NEVER : toStageSpec(decoded.data);
  });

const fieldIssue = (
  ctx: Ctx,
  message: string,
  input: unknown,
  path: ReadonlyArray<string | number>,
) => ctx.issues.push({ code: "custom", message, params: { field: true }, input, path: [...path] });

const ownerMapping = strictMapping({ name: z.string().min(1), type: z.string().min(1).optional() });

// An owner is a URN string (`team:kg-ingest`) or `{name, type}` (`type` e.g. MAINTAINER).
const ownerSchema = z.unknown().transform((raw, ctx): { name: string; type?: string } => {
  if (typeof raw === "string" && raw.trim() !== "") return { name: raw.trim() };
  if (isRecord(raw)) {
    const decoded = ownerMapping.safeParse(raw, { reportInput: true });
    if (decoded.success) return decoded.data;
    return report(ctx, decoded.error.issues, []), z.NEVER;
  }
  fieldIssue(ctx, "must be an owner such as team:kg-ingest, or {name, type}", raw, []);
  return z.NEVER;
});

// Tags: a mapping of key to value, or a list of `key:value` strings and bare labels (`pii`).
const tagsSchema = z.unknown().transform((raw, ctx): Array<{ key: string; value: string }> => {
  if (isRecord(raw)) {
    return Object.entries(raw).flatMap(([key, value]) => {
      if (["string", "number", "boolean"].includes(typeof value)) {
        return [{ key, value: String(value) }];
      }
      fieldIssue(ctx, "must be a string, number or boolean", value, [key]);
      return [];
    });
  }
  if (Array.isArray(raw)) {
    return raw.flatMap((tag, i) => {
      const m = typeof tag === "string"
        ? /^\s*([^:\s][^:]*?)\s*(?::\s*([^:]*?)\s*)?$/.exec(tag)
        : null;
      if (m && (m[2] === undefined || m[2] !== "")) return [{ key: m[1], value: m[2] ?? "true" }];
      fieldIssue(ctx, "must be a label or key:value", tag, [i]);
      return [];
    });
  }
  fieldIssue(ctx, "must be a mapping of key: value, or a list of key:value and labels", raw, []);
  return z.NEVER;
});

/** A pipeline file as written in YAML (snake_case keys), with its stages decoded. */
export interface PipelineYaml {
  /** The pipeline's version, e.g. `1.0.0`. */
  readonly version: string;
  /** The pipeline's name: lowercase letters, digits, `_` and `-`. */
  readonly name: string;
  /** What the pipeline does, in words. */
  readonly description: string;
  /** The sources whose jobs are routed to this pipeline. */
  readonly applicable_sources: ReadonlyArray<SourceName>;
  /** The stages, decoded, in declaration order. */
  readonly stages: ReadonlyArray<StageSpec>;
  /** Who owns the pipeline: URNs such as `team:kg-ingest`, or `{name, type}`. */
  readonly owners?: ReadonlyArray<{ readonly name: string; readonly type?: string }>;
  /** The pipeline's tags, decoded from a mapping or a list of `key:value` and labels. */
  readonly tags?: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/**
 * The schema of a whole pipeline file, its stages checked by {@link stageSchemaFor}. Source names
 * in `applicable_sources` are any names: sources the run does not know are a warning of the
 * loader, not an error.
 */
export const pipelineSchemaFor = (
  isKnownType: (type: string) => boolean,
): z.ZodType<PipelineYaml> =>
  strictMapping({
    version: z.string().min(1),
    name: z.string().regex(/^[a-z][a-z0-9_-]*$/),
    description: z.string(),
    applicable_sources: z.array(z.string().min(1)),
    stages: z.array(stageSchemaFor(isKnownType)).min(1),
    owners: z.array(ownerSchema).optional(),
    tags: tagsSchema.optional(),
  }) as unknown as z.ZodType<PipelineYaml>;

/** Turns a decoded pipeline file into a {@link PipelineSpec}. */
export const pipelineFromSpec = (
  file: string,
  spec: PipelineYaml,
  path?: string,
): PipelineSpec => ({
  file,
  ...(path === undefined ? {} : { path }),
  name: spec.name,
  version: spec.version,
  description: spec.description,
  applicableSources: spec.applicable_sources,
  stages: spec.stages,
  ...(spec.owners === undefined ? {} : { owners: spec.owners }),
  ...(spec.tags === undefined ? {} : { tags: spec.tags }),
});

/**
 * Whether a condition holds for a job's ledger fields (keyed by {@link LedgerField}).
 *
 * @example
 * ```ts
 * evaluateCondition({ field: "pdf_ir_ready", op: "equals", value: true }, { pdf_ir_ready: true });
 * // true
 * ```
 */
export const evaluateCondition = (
  condition: Condition,
  ledgerFields: Readonly<Record<string, unknown>>,
): boolean => {
  if ("all" in condition) return condition.all.every((c) => evaluateCondition(c, ledgerFields));
  if ("any" in condition) return condition.any.some((c) => evaluateCondition(c, ledgerFields));
  const actual = ledgerFields[condition.field];
  switch (condition.op) {
    case "equals":
      return actual === condition.value;
    case "not_equals":
      return actual !== condition.value;
    case "exists":
      return actual !== undefined && actual !== null;
    case "in":
      return Array.isArray(condition.value) && condition.value.includes(actual);
  }
};

/** A job's ledger fields under the names conditions use. */
export const ledgerFieldsOf = (
  job: Pick<Job, "pdfDownloaded" | "pdfIrReady" | "status" | "currentStage">,
): Readonly<Record<LedgerField, unknown>> => ({
  pdf_downloaded: job.pdfDownloaded,
  pdf_ir_ready: job.pdfIrReady,
  status: job.status,
  current_stage: job.currentStage,
});
