/**
 * Source adapters for recorded ClinicalTrials.gov, OpenAlex and openFDA responses: discovery of
 * the records in files and folders, the file Ingest stage, and the Parse stage with one
 * zod-checked parser per source. A bad record fails only its own job, with `InvalidInput` naming
 * the file and the field.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { discoverRecords, parsePayload, readJsonFile } from "./mod.ts";
 *
 * for (const found of await discoverRecords(["data/records/openfda"])) {
 *   if ("problem" in found) console.warn(found.problem);
 *   const { request } = found;
 *   if (request.location.kind !== "file") continue;
 *   const record = await Effect.runPromise(readJsonFile(request.location.file));
 *   console.log(request.docKey, typeof record);
 * }
 * const document = await Effect.runPromise(parsePayload({
 *   source: "openalex",
 *   docKey: "W1",
 *   location: { kind: "file", file: "w1.json", pointer: "" },
 *   record: { id: "https://openalex.org/W1", title: "A work" },
 * }));
 * console.log(document.sections.map((s) => s.title)); // ["Title"]
 * ```
 *
 * @module
 */
export * from "./clinicaltrials.ts";
export * from "./discover.ts";
export * from "./file_ingest.ts";
export * from "./openalex.ts";
export * from "./openfda.ts";
export * from "./parse_stage.ts";
export * from "./pdf_sources.ts";
export * from "./http_ingest.ts";
export * from "./ingest_stage.ts";
export * from "./input_limits.ts";
export * from "./json_input.ts";
export * from "./json_syntax.ts";
export * from "./record_guard.ts";
export * from "./utf8_text.ts";
export * from "./openfda_drugsfda.ts";
export * from "./openfda_event.ts";
export * from "./live_settings.ts";
export * from "./live_policy.ts";
export * from "./live_page.ts";
export * from "./live_paging.ts";
export * from "./live_query.ts";
export * from "./live_fetch.ts";
export * from "./live_discovery.ts";
export * from "./live_requests.ts";
export * from "./live_flags.ts";
export * from "./clinicaltrials_live.ts";
export * from "./openalex_live.ts";
export * from "./openfda_live.ts";
