/**
 * The kit's built-in sources: ClinicalTrials.gov, OpenAlex (for metadata, and for open-access
 * PDFs as `openalex-pdf`), openFDA drug labels, Europe PMC and Unpaywall. Each is made with
 * `defineSource`, as a user's own source is. ClinicalTrials.gov, OpenAlex and openFDA also list
 * records live (`discover`, see `live_discovery.ts`) and fetch one by key (`fetch`).
 *
 * @module
 */
import { Context } from "effect";
import {
  defineSource,
  makeSourceCatalog,
  type SourceCatalog,
  type SourceDefinition,
} from "../../stages/source_contract.ts";
import { sourceDatasets } from "../../lineage/datasets.ts";
import { parseClinicalTrials } from "./clinicaltrials.ts";
import { parseOpenAlex } from "./openalex.ts";
import { parseOpenFda } from "./openfda.ts";
import { detectPdfShape, parseEuropePmc, parseUnpaywall } from "./pdf_sources.ts";
import { detectShape } from "./_record_shape.ts";
import { clinicalTrialsQuerySpec, listClinicalTrials } from "./clinicaltrials_live.ts";
import { listOpenAlex, openAlexQuerySpec } from "./openalex_live.ts";
import { listOpenFda, openFdaQuerySpec } from "./openfda_live.ts";
import { liveDiscover } from "./live_discovery.ts";
import { fetchLive } from "./live_fetch.ts";

const detectWith = (format: string) => (value: unknown) =>
  detectShape(value, format) ?? detectPdfShape(value, format);

/**
 * The built-in sources, in a stable order.
 *
 * @category constructors
 */
export const builtinSources: ReadonlyArray<SourceDefinition> = [
  defineSource({
    name: "clinicaltrials",
    description: "ClinicalTrials.gov API v2 studies",
    dataset: sourceDatasets.clinicaltrials,
    parse: parseClinicalTrials,
    detect: detectWith("clinicaltrials"),
    fetch: fetchLive,
    discover: liveDiscover("clinicaltrials", clinicalTrialsQuerySpec, listClinicalTrials),
  }),
  defineSource({
    name: "openalex",
    description: "OpenAlex works (metadata and abstract)",
    dataset: sourceDatasets.openalex,
    parse: parseOpenAlex,
    detect: detectWith("openalex"),
    fetch: fetchLive,
    discover: liveDiscover("openalex", openAlexQuerySpec, listOpenAlex),
  }),
  defineSource({
    name: "openalex-pdf",
    format: "openalex",
    description: "OpenAlex works taken for their open-access PDF",
    dataset: sourceDatasets["openalex-pdf"],
    parse: parseOpenAlex,
    detect: detectWith("openalex"),
    fetch: fetchLive,
    discover: liveDiscover("openalex-pdf", openAlexQuerySpec, listOpenAlex),
  }),
  defineSource({
    name: "openfda",
    description: "openFDA drug labels",
    dataset: sourceDatasets.openfda,
    parse: parseOpenFda,
    detect: detectWith("openfda"),
    fetch: fetchLive,
    discover: liveDiscover("openfda", openFdaQuerySpec, listOpenFda),
  }),
  defineSource({
    name: "europepmc",
    description: "Europe PMC search results (open-access PDFs)",
    dataset: sourceDatasets.europepmc,
    parse: parseEuropePmc,
    detect: detectWith("europepmc"),
  }),
  defineSource({
    name: "unpaywall",
    description: "Unpaywall DOI records (open-access PDFs)",
    dataset: sourceDatasets.unpaywall,
    parse: parseUnpaywall,
    detect: detectWith("unpaywall"),
  }),
];

/**
 * The sources a run knows: the built-in ones unless the runtime provides a catalog with more
 * (`runPipeline({ sources })`).
 *
 * @category services
 */
export const Sources: Context.Reference<SourceCatalog> = Context.Reference<SourceCatalog>(
  "@medkg/lineage-kit/Sources",
  { defaultValue: () => makeSourceCatalog(builtinSources) },
);
