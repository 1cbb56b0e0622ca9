// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
/**
 * A loopback HTTP server playing the PDF host (`GET /pdfs/<paper>.pdf`), MinerU
 * (`POST /file_parse`, answering with the recorded content lists) and an OpenLineage endpoint
 * (`POST /api/v1/lineage`, 201, recording each event). Real sockets: separate processes reach
 * it as well as in-process commands.
 */
import { resolve } from "node:path";
import { fixturesDir } from "../_harness.ts";

/** The papers whose PDFs and MinerU content lists are recorded. */
export const papers = ["W2497721881", "W2162544110"];

/** The server, what it recorded, and its knobs. */
export interface PdfServices {
  readonly url: string;
  /** OpenLineage events the lineage endpoint took, in arrival order. */
  readonly events: Array<Record<string, any>>;
  /** Answer 503 to this many PDF downloads first. */
  failPdfs: number;
  readonly close: () => Promise<void>;
}

/** Starts the server on a free loopback port. */
export const servePdfServices = async (): Promise<PdfServices> => {
  const pdfs = new Map<string, Uint8Array>();
  const lists = new Map<number, unknown>();
  for (const paper of papers) {
    const bytes = await Deno.readFile(resolve(fixturesDir, `pdfs/${paper}.pdf`));
    pdfs.set(paper, bytes);
    lists.set(
      bytes.length,
      JSON.parse(
        await Deno.readTextFile(resolve(
          fixturesDir,
          `mineru/mineru-2.5.4-pipeline/${paper}/${paper}_content_list.json`,
        )),
      ),
    );
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const pdf = url.pathname.match(/^\/pdfs\/(W\d+)\.pdf$/);
    if (req.method === "GET" && pdf && pdfs.has(pdf[1])) {
      if (services.failPdfs > 0) {
        services.failPdfs--;
        return new Response("busy", { status: 503 });
      }
      return new Response(pdfs.get(pdf[1])! as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/pdf" },
      });
    }
    if (req.method === "POST" && url.pathname === "/file_parse") {
      const file = (await req.formData()).get("files") as File;
      return Response.json({
        backend: "pipeline",
        version: "2.5.4",
        results: { [file.name.replace(/\.pdf$/, "")]: { content_list: lists.get(file.size) } },
      });
    }
    if (req.method === "POST" && url.pathname === "/api/v1/lineage") {
      services.events.push(await req.json());
      return new Response(null, { status: 201 });
    }
    return new Response("not found", { status: 404 });
  });
  const services: PdfServices = {
    url: `http://127.0.0.1:${server.addr.port}`,
    events: [],
    failPdfs: 0,
    close: () => server.shutdown(),
  };
  return services;
};

/** An Unpaywall record whose open-access PDF is `paper` on the server at `base`. */
export const pdfRecord = (base: string, paper: string, i: number) => ({
  doi: `10.5555/pdf-${i}`,
  title: `Paper ${i}`,
  is_oa: true,
  best_oa_location: {
    url: `${base}/pdfs/${paper}.pdf`,
    url_for_pdf: `${base}/pdfs/${paper}.pdf`,
    is_best: true,
    host_type: "repository",
  },
  oa_locations: [],
});
