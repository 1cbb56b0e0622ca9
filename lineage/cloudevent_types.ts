/**
 * The catalogue of CloudEvents the kit produces and consumes: one zod schema per event type for
 * its `data`, a schema for the structured-mode envelope with the kit's extensions, and a
 * validator that checks both. `docs/asyncapi.yaml` describes the same events; a test holds the
 * two together.
 *
 * @example
 * ```ts
 * import { validateCloudEvent } from "./cloudevent_types.ts";
 *
 * const issues = validateCloudEvent({ specversion: "1.0", type: "org.medicalkg.mineru.failed" });
 * console.log(issues[0]); // { path: "/id", message: "Invalid input: expected string, received undefined" }
 * ```
 *
 * @module
 */
import { z } from "zod";
import { type StageErrorType, stageErrorTypes } from "../stages/errors.ts";
import type { CloudEventDataByType, MineruFailureReason } from "./cloudevent_data.ts";

export type * from "./cloudevent_data.ts";

/**
 * Every CloudEvent type in the catalogue.
 *
 * @category models
 */
export const cloudEventTypes = [
  "org.medicalkg.orchestration.pipeline.started",
  "org.medicalkg.orchestration.pipeline.completed",
  "org.medicalkg.orchestration.pipeline.failed",
  "org.medicalkg.orchestration.pipeline.paused",
  "org.medicalkg.orchestration.pipeline.resumed",
  "org.medicalkg.orchestration.stage.started",
  "org.medicalkg.orchestration.stage.completed",
  "org.medicalkg.orchestration.stage.failed",
  "org.medicalkg.orchestration.stage.retrying",
  "org.medicalkg.orchestration.gate.waiting",
  "org.medicalkg.orchestration.gate.opened",
  "org.medicalkg.orchestration.gate.timed_out",
  "org.medicalkg.mineru.requested",
  "org.medicalkg.mineru.completed",
  "org.medicalkg.mineru.failed",
] as const;

/**
 * One CloudEvent type of the catalogue.
 *
 * @category models
 */
export type CloudEventType = typeof cloudEventTypes[number];

const text = z.string().min(1);
const count = z.number().int().nonnegative();
const ordinal = z.number().int().min(1);
const errorType = z.enum(stageErrorTypes as [StageErrorType, ...StageErrorType[]]);

const jobFields = { job_id: text, tenant_id: text, correlation_id: text };
const pipelineFields = {
  ...jobFields,
  pipeline: text,
  pipeline_version: text,
  run_number: ordinal,
};
const stageFields = { ...jobFields, stage: text, attempt: ordinal, policy_name: text };
const gateFields = {
  ...jobFields,
  gate: text,
  condition: text,
  timeout_seconds: z.number().positive(),
  waited_ms: count.optional(),
};
const mineruFields = { job_id: text, tenant_id: text, doc_id: text, correlation_id: text };

/**
 * The schema of {@link MineruFailureReason}.
 *
 * @category schemas
 */
export const mineruFailureReasonSchema: z.ZodType<MineruFailureReason> = z.enum([
  "gpu_oom",
  "gpu_unavailable",
  "bad_pdf",
  "timeout",
]);

type DataSchemas = { readonly [T in CloudEventType]: z.ZodType<CloudEventDataByType[T]> };

const dataSchemas: DataSchemas = {
  "org.medicalkg.orchestration.pipeline.started": z.strictObject(pipelineFields),
  "org.medicalkg.orchestration.pipeline.completed": z.strictObject({
    ...pipelineFields,
    duration_ms: count,
    stage_count: count,
  }),
  "org.medicalkg.orchestration.pipeline.failed": z.strictObject({
    ...pipelineFields,
    duration_ms: count,
    error_type: errorType,
    error_message: z.string(),
    stage: text,
    policy_name: text,
    reason: text,
  }),
  "org.medicalkg.orchestration.pipeline.paused": z.strictObject({
    ...pipelineFields,
    reason: text.optional(),
  }),
  "org.medicalkg.orchestration.pipeline.resumed": z.strictObject({
    ...pipelineFields,
    reason: text.optional(),
  }),
  "org.medicalkg.orchestration.stage.started": z.strictObject(stageFields),
  "org.medicalkg.orchestration.stage.completed": z.strictObject({
    ...stageFields,
    duration_ms: count,
    output_count: count,
    gpu_used: z.boolean(),
    retry_count: count,
  }),
  "org.medicalkg.orchestration.stage.failed": z.strictObject({
    ...stageFields,
    error_type: errorType,
    error_message: z.string(),
    retry_count: count,
    reason: text,
    duration_ms: count,
  }),
  "org.medicalkg.orchestration.stage.retrying": z.strictObject({
    ...stageFields,
    attempt_number: ordinal,
    backoff_ms: count,
    error_type: errorType,
    error_message: z.string(),
    retry_count: count,
    duration_ms: count,
  }),
  "org.medicalkg.orchestration.gate.waiting": z.strictObject(gateFields),
  "org.medicalkg.orchestration.gate.opened": z.strictObject(gateFields),
  "org.medicalkg.orchestration.gate.timed_out": z.strictObject(gateFields),
  "org.medicalkg.mineru.requested": z.strictObject({
    job_id: text,
    tenant_id: text,
    doc_id: text,
    pdf_uri: z.url(),
    checksum: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    priority: z.number().int().min(0).max(9),
    correlation_id: text,
  }),
  "org.medicalkg.mineru.completed": z.strictObject({
    ...mineruFields,
    document_uri: z.url(),
    pages: count.optional(),
    duration_ms: count.optional(),
  }),
  "org.medicalkg.mineru.failed": z.strictObject({
    ...mineruFields,
    reason: mineruFailureReasonSchema,
    error_message: z.string(),
  }),
};

/**
 * The zod schema of a type's `data` (strict: unknown keys are rejected).
 *
 * @param type a type from {@link cloudEventTypes}
 * @returns the schema its `data` must match
 * @category schemas
 */
export const dataSchemaFor = <T extends CloudEventType>(
  type: T,
): z.ZodType<CloudEventDataByType[T]> => dataSchemas[type];

/**
 * Whether a string is one of the catalogue's types.
 *
 * @category models
 */
export const isCloudEventType = (type: unknown): type is CloudEventType =>
  typeof type === "string" && Object.hasOwn(dataSchemas, type);

/**
 * OpenLineage event types, the values of the `oleventtype` extension.
 *
 * @category models
 */
export type OlEventType = "START" | "RUNNING" | "COMPLETE" | "ABORT" | "FAIL" | "OTHER";

/**
 * A structured-mode (JSON) CloudEvent as the kit writes it: every context attribute and
 * extension is a string, `time` is RFC 3339, `data` is JSON. Extensions: `tenantid`,
 * `correlationid`, `partitionkey` (the Kafka record key: the document id), and on events paired
 * with an OpenLineage event `olrunid` and `oleventtype`.
 *
 * @category models
 */
export type KitCloudEvent = {
  readonly specversion: "1.0";
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: "application/json";
  readonly dataschema?: string;
  readonly tenantid: string;
  readonly correlationid: string;
  readonly olrunid?: string;
  readonly oleventtype?: OlEventType;
  readonly partitionkey: string;
  readonly data: unknown;
};

/**
 * The schema of {@link KitCloudEvent} (strict: other attributes are rejected).
 *
 * @category schemas
 */
export const cloudEventEnvelopeSchema: z.ZodType<KitCloudEvent> = z.strictObject({
  specversion: z.literal("1.0"),
  id: text,
  source: text,
  type: text,
  subject: text,
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal("application/json"),
  dataschema: z.url().optional(),
  tenantid: text,
  correlationid: text,
  olrunid: text.optional(),
  oleventtype: z.enum(["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]).optional(),
  partitionkey: text,
  data: z.unknown(),
});

/**
 * One reason an event is invalid: a JSON pointer into the event and what is wrong there.
 *
 * @category models
 */
export interface CloudEventIssue {
  /** Where in the event: a JSON pointer, e.g. `/data/job_id` (empty for the whole event). */
  readonly path: string;
  /** What is wrong there. */
  readonly message: string;
}

const issuesOf = (error: z.ZodError, prefix = ""): Array<CloudEventIssue> =>
  error.issues.map((i) => ({
    path: prefix + (i.path.length > 0 ? "/" + i.path.map(String).join("/") : ""),
    message: i.message,
  }));

// Orchestration events are written by the same call as their OpenLineage partner.
const PAIRED = /^org\.medicalkg\.orchestration\./;

const crossChecks = (event: KitCloudEvent): Array<CloudEventIssue> => {
  const data = event.data as Record<string, unknown>;
  const issues: Array<CloudEventIssue> = [];
  if (PAIRED.test(event.type)) {
    for (const key of ["olrunid", "oleventtype"] as const) {
      if (event[key] === undefined) {
        issues.push({ path: `/${key}`, message: "required on orchestration events" });
      }
    }
  }
  if (data.tenant_id !== event.tenantid) {
    issues.push({ path: "/tenantid", message: "must equal data.tenant_id" });
  }
  if (data.correlation_id !== event.correlationid) {
    issues.push({ path: "/correlationid", message: "must equal data.correlation_id" });
  }
  return issues;
};

/**
 * Checks a structured-mode CloudEvent: the envelope, then `data` against its type's schema, then
 * that the extensions agree with `data`.
 *
 * @param event a parsed structured-mode event
 * @returns every issue found; an empty list means valid
 * @category schemas
 */
export const validateCloudEvent = (event: unknown): ReadonlyArray<CloudEventIssue> => {
  const envelope = cloudEventEnvelopeSchema.safeParse(event);
  if (!envelope.success) return issuesOf(envelope.error);
  const { type, data } = envelope.data;
  if (!isCloudEventType(type)) {
    return [{ path: "/type", message: `unknown CloudEvent type "${type}"` }];
  }
  const parsed = dataSchemas[type].safeParse(data);
  return parsed.success ? crossChecks(envelope.data) : issuesOf(parsed.error, "/data");
};

/**
 * Throws when an event the kit is about to emit does not match the catalogue: a drift between
 * the producer and its schema is a bug to surface at once, not an event to ship.
 *
 * @param event the structured-mode event about to be written
 * @category schemas
 */
export const assertValidCloudEvent = (event: unknown): void => {
  const issues = validateCloudEvent(event);
  if (issues.length === 0) return;
  const type = (event as { type?: unknown }).type;
  throw new Error(
    `CloudEvent ${String(type)} does not match its schema: ` +
      issues.map((i) => `${i.path}: ${i.message}`).join("; "),
  );
};
