/**
 * The built-in Extract stage: turns the structured fields a parser kept in `Document.metadata`
 * into knowledge-graph entities and claims. Pure and deterministic: the same document always gives
 * the same entities and claims, sorted by id.
 *
 * Entity ids are `{Label}:{key}`, the key being the source's own id where there is one (`Trial:NCT…`,
 * `Author:A…`) and the normalised name otherwise (`Drug:gefitinib`), so a drug named by a trial and
 * by a label is one node. Claim ids are `{subject}|{predicate}|{object}`.
 *
 * @module
 */
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "./contracts.ts";
import { documentSchema, extractionSchema } from "./ir_schemas.ts";
import { InvalidInput } from "./errors.ts";
import { type Document, type Extraction, recordFormatOf } from "./ir.ts";
import {
  type Collector,
  fieldList,
  type Fields,
  fields,
  list,
  makeCollector,
  maxEntityKeyLength,
  type RefusedEntity,
  str,
  strs,
} from "./_extract_collector.ts";
import { extractOpenFda } from "./extract_openfda.ts";

export { firstIndicationSentence, indicatedConditionOf } from "./extract_openfda.ts";
export { maxEntityKeyLength, type RefusedEntity } from "./_extract_collector.ts";

const drugInterventionTypes: ReadonlySet<string> = new Set(["DRUG", "BIOLOGICAL"]);

const extractTrialSubjects = (trial: string | undefined, m: Fields, c: Collector): void => {
  list(m.conditions).forEach((name, i) => {
    const id = c.entity("Condition", str(name) ?? "", { field: `metadata.conditions[${i}]` });
    c.claim(trial, "STUDIES", id, { via: "conditions" });
  });
  fieldList(fields(m.meshTerms)?.conditions).forEach((mesh, i) => {
    const meshId = str(mesh.id) ?? null;
    const id = c.entity("Condition", str(mesh.term) ?? "", {
      field: `metadata.meshTerms.conditions[${i}].term`,
      properties: { meshId },
    });
    c.claim(trial, "STUDIES", id, { via: "mesh", meshId });
  });
  fieldList(m.interventions).forEach((intervention, i) => {
    const type = str(intervention.type) ?? null;
    const isDrug = type !== null && drugInterventionTypes.has(type);
    const id = c.entity(isDrug ? "Drug" : "Intervention", str(intervention.name) ?? "", {
      field: `metadata.interventions[${i}].name`,
      properties: isDrug ? { otherNames: strs(intervention.otherNames) } : { type },
    });
    c.claim(trial, "TESTS", id, { via: "interventions", interventionType: type });
  });
  fieldList(fields(m.meshTerms)?.interventions).forEach((mesh, i) => {
    const meshId = str(mesh.id) ?? null;
    const id = c.entity("Drug", str(mesh.term) ?? "", {
      field: `metadata.meshTerms.interventions[${i}].term`,
      properties: { meshId },
    });
    c.claim(trial, "TESTS", id, { via: "mesh", meshId });
  });
};

const extractTrialSponsors = (trial: string | undefined, m: Fields, c: Collector): void => {
  const organisation = (sponsor: Fields, field: string): string | undefined =>
    c.entity("Organization", str(sponsor.name) ?? "", {
      field: `${field}.name`,
      properties: { class: str(sponsor.class) ?? null },
    });
  const lead = fields(m.leadSponsor);
  if (lead !== undefined) {
    c.claim(trial, "SPONSORED_BY", organisation(lead, "metadata.leadSponsor"), {
      role: "lead",
      class: str(lead.class) ?? null,
    });
  }
  fieldList(m.collaborators).forEach((collaborator, i) => {
    c.claim(trial, "HAS_COLLABORATOR", organisation(collaborator, `metadata.collaborators[${i}]`), {
      class: str(collaborator.class) ?? null,
    });
  });
};

const extractTrial = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const nctId = str(m.nctId) ?? doc.id;
  const trial = c.entity("Trial", str(m.briefTitle) ?? doc.title, {
    key: nctId,
    field: "metadata.nctId",
    properties: { nctId, overallStatus: m.overallStatus ?? null, phases: list(m.phases) },
  });
  extractTrialSubjects(trial, m, c);
  extractTrialSponsors(trial, m, c);
  // Posted adverse events use the MedDRA terms FAERS reports use: one node for both.
  fieldList(m.adverseEvents).forEach((event, i) => {
    const id = c.entity("AdverseReaction", str(event.term) ?? "", {
      field: `metadata.adverseEvents[${i}].term`,
    });
    c.claim(trial, "REPORTS_ADVERSE_EVENT", id, {
      serious: event.serious ?? null,
      organSystem: event.organSystem ?? null,
    });
  });
};

// MeSH allows these qualifiers on diseases only, so a descriptor carrying one is a condition; the
// others (organisms, chemicals, techniques) stay concepts.
const diseaseQualifiers: ReadonlySet<string> = new Set([
  "complications",
  "congenital",
  "diagnosis",
  "diet therapy",
  "drug therapy",
  "epidemiology",
  "etiology",
  "mortality",
  "nursing",
  "prevention & control",
  "radiotherapy",
  "rehabilitation",
  "therapy",
]);

const extractWork = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const openalexId = str(m.openalexId) ?? doc.id;
  const work = c.entity("Work", doc.title, {
    key: openalexId,
    field: "metadata.openalexId",
    properties: {
      openalexId,
      doi: m.doi ?? null,
      pmid: m.pmid ?? null,
      publicationYear: m.publicationYear ?? null,
    },
  });
  fieldList(m.authors).forEach((author, order) => {
    const name = str(author.name) ?? "";
    const key = str(author.id);
    const id = c.entity("Author", name, {
      key,
      field: `metadata.authors[${order}].${key === undefined ? "name" : "id"}`,
      properties: { orcid: author.orcid ?? null },
    });
    c.claim(work, "AUTHORED_BY", id, { position: author.position ?? null, order });
  });
  fieldList(m.topics).forEach((topic, i) => {
    const key = str(topic.id);
    const id = c.entity("Topic", str(topic.name) ?? "", {
      key,
      field: `metadata.topics[${i}].${key === undefined ? "name" : "id"}`,
      properties: { field: topic.field ?? null, domain: topic.domain ?? null },
    });
    c.claim(work, "HAS_TOPIC", id, { score: topic.score ?? null });
  });
  fieldList(m.mesh).forEach((mesh, i) => {
    const qualifiers = strs(mesh.qualifier_names);
    const isCondition = qualifiers.some((q) => diseaseQualifiers.has(q));
    const id = c.entity(isCondition ? "Condition" : "Concept", str(mesh.descriptor_name) ?? "", {
      field: `metadata.mesh[${i}].descriptor_name`,
      properties: { meshId: mesh.descriptor_ui ?? null },
    });
    c.claim(work, "MENTIONS", id, { isMajorTopic: mesh.is_major_topic ?? false, qualifiers });
  });
};

const extractors: Partial<Record<Document["source"], (doc: Document, c: Collector) => void>> = {
  clinicaltrials: extractTrial,
  openfda: extractOpenFda,
  openalex: extractWork,
};

/**
 * The entities and claims of one document, deduplicated and sorted by id, and the entities refused
 * because their graph key is longer than {@link maxEntityKeyLength}. Sources without rules give an
 * empty extraction.
 *
 * @category constructors
 */
export const extractWithRefusals = (
  document: Document,
): { readonly extraction: Extraction; readonly refused: ReadonlyArray<RefusedEntity> } => {
  const collector = makeCollector(document.id);
  // A source reading another's records (openalex-pdf) has that source's fields.
  extractors[recordFormatOf(document.source)]?.(document, collector);
  return { extraction: collector.result(), refused: collector.refused() };
};

/**
 * The entities and claims of one document, deduplicated and sorted by id. Sources without rules
 * give an empty extraction; an entity whose key is too long for a node id is left out (the Extract
 * stage refuses such a document instead, see {@link extractStage}).
 *
 * @example
 * ```ts
 * import { extract } from "./extract.ts";
 * import type { Document } from "./ir.ts";
 *
 * const document: Document = {
 *   id: "notes:1",
 *   source: "notes",
 *   title: "A note",
 *   sections: [],
 *   metadata: {},
 *   provenance: { source: "notes", location: { kind: "inline", record: {} }, parser: "notes" },
 * };
 * const { entities, claims } = extract(document);
 * console.log(entities.length, claims.length); // 0 0: no extraction rules for "notes"
 * ```
 * @category constructors
 */
export const extract = (document: Document): Extraction => extractWithRefusals(document).extraction;

// Where the document was read from, so the message leads back to the input.
const origin = (document: Document): string => {
  const { location } = document.provenance;
  return location.kind === "url"
    ? location.url
    : location.kind === "file"
    ? location.file
    : `the ${document.source} record ${document.id}`;
};

const refusal = (document: Document, refused: ReadonlyArray<RefusedEntity>): InvalidInput => {
  const [first] = refused;
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : "";
  return new InvalidInput({
    message:
      `${document.id} (${
        origin(document)
      }): ${first.field}: a ${first.label} name whose graph key is ` +
      `${first.keyLength} characters, longer than the ${maxEntityKeyLength} a node id may hold${more}`,
    path: first.field,
  });
};

/**
 * The built-in Extract stage: the parsed Document → entities and claims from its structured
 * fields. `outputCount` counts both.
 *
 * A document naming an entity whose graph key (its id or normalised name) is longer than
 * {@link maxEntityKeyLength} is refused with `InvalidInput` naming the metadata field, rather than
 * truncated: cutting the key would merge different names into one node, and letting it through
 * would have the database's index refuse the graph write, which the runner would take for a passing
 * fault and retry.
 *
 * @category constructors
 */
export const extractStage: StageDefinition<
  Extraction,
  Record<string, never>,
  { readonly Parse: typeof documentSchema }
> = defineStage({
  type: "Extract",
  implementation: "structured-metadata",
  description: "entities and claims from the document's structured fields",
  input: { Parse: documentSchema },
  output: extractionSchema,
  run: (_ctx, { Parse: document }) =>
    Effect.suspend(() => {
      const { extraction, refused } = extractWithRefusals(document);
      return refused.length === 0
        ? Effect.succeed(extraction)
        : Effect.fail(refusal(document, refused));
    }),
  outputCount: (extraction) => extraction.entities.length + extraction.claims.length,
});
