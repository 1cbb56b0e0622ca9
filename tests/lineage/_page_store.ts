/**
 * A store of real runs for the lineage page tests: the bundled records through `auto`, then two
 * open-access PDFs through `pdf-two-phase` from a local PDF host (a real socket, as a mirror on
 * the intranet would be) that answers the first request for one paper 503 — its download fails,
 * is retried and succeeds, and the job pauses at the gate — and has no copy of the other (404:
 * the download fails for good, the run fails and the stages after it never start).
 */
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { readLineageEvents } from "../../cli/_lineage_events.ts";
import { openStore } from "../../adapters/store/store.ts";
import type { LineageEvent } from "../../lineage/lineage_view.ts";
import { fixturesDir, lastJsonLine, runCli } from "../_harness.ts";

/** The paper whose first download answers 503, and the one the host does not have. */
export const papers = { retried: "W2497721881", missing: "W2162544110" } as const;

const unpaywallRecord = (host: string, paper: string) => ({
  doi: `10.5555/${paper.toLowerCase()}`,
  doi_url: `https://doi.org/10.5555/${paper.toLowerCase()}`,
  title: `Paper ${paper}`,
  year: 2008,
  genre: "journal-article",
  is_oa: true,
  data_standard: 2,
  has_repository_copy: false,
  best_oa_location: {
    url: `${host}/pdfs/${paper}.pdf`,
    url_for_pdf: `${host}/pdfs/${paper}.pdf`,
    url_for_landing_page: `https://doi.org/10.5555/${paper.toLowerCase()}`,
    host_type: "repository",
    is_best: true,
    version: "publishedVersion",
    evidence: "oa repository",
    license: null,
  },
  oa_locations: [],
});

const servePdfs = async () => {
  const pdf = await Deno.readFile(resolve(fixturesDir, `pdfs/${papers.retried}.pdf`));
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    if (path !== `/pdfs/${papers.retried}.pdf`) return new Response("not found", { status: 404 });
    if (requests.filter((p) => p === path).length === 1) {
      return new Response("busy", { status: 503, statusText: "Service Unavailable" });
    }
    return new Response(pdf, { headers: { "content-type": "application/pdf" } });
  });
  return { host: `http://127.0.0.1:${server.addr.port}`, requests, close: () => server.shutdown() };
};

/** Fills `store` (a directory) with the runs above and returns its OpenLineage events. */
export const buildPageStore = async (
  store: string,
  records: string,
): Promise<ReadonlyArray<LineageEvent>> => {
  const auto = await runCli(runPipeline, ["--store", store, "--json"]);
  if (auto.code !== 0) throw new Error(`auto run failed: ${auto.stderr}`);
  const served = await servePdfs();
  try {
    for (const paper of Object.values(papers)) {
      await Deno.writeTextFile(
        resolve(records, `${paper}.json`),
        JSON.stringify(unpaywallRecord(served.host, paper)),
      );
    }
    const pdf = await runCli(runPipeline, [
      "--store",
      store,
      "--input",
      records,
      "--allow-private-network",
      "--json",
    ]);
    const jobs = lastJsonLine(pdf.stdout).jobs;
    const expected = { succeeded: 0, failed: 1, paused: 1, skipped: 0, held: 0, cancelled: 0 };
    if (JSON.stringify(jobs) !== JSON.stringify(expected)) {
      throw new Error(`PDF runs ended ${JSON.stringify(jobs)}: ${pdf.stdout}\n${pdf.stderr}`);
    }
  } finally {
    await served.close();
  }
  const opened = await openStore(store);
  try {
    return await readLineageEvents(opened.client);
  } finally {
    await opened.close();
  }
};
