/**
 * A fake Marquez lineage endpoint for msw: answers 201 to a valid event, 422 to a `jobType` facet
 * without `jobType` (as Marquez does), and can be told to fail its first requests, be down
 * (network error), hang, or refuse chosen events. It records every request and every event it
 * accepted, in order.
 */
import { http, type HttpHandler, HttpResponse } from "msw";

/** The base URL the fake listens on. */
export const MARQUEZ = "http://marquez.test:5000";

// deno-lint-ignore no-explicit-any -- events are parsed JSON
type Event = Record<string, any>;

/** One request as the fake saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly status: number | "network-error" | "hang";
}

/** The fake and its knobs. */
export interface FakeMarquez {
  readonly handler: HttpHandler;
  readonly requests: SeenRequest[];
  /** Events answered 201, in arrival order. */
  readonly accepted: Event[];
  /** `up` answers; `down` fails at the network; `hang` never answers. */
  mode: "up" | "down" | "hang";
  /** Answer 503 to this many requests first. */
  failFirst: number;
  /** Answer this status (with Retry-After when given) to the next requests, one each. */
  script: Array<{ status: number; retryAfter?: string; body?: string }>;
  /** Events refused with 400, by run id and event type (`<runId>/<eventType>`). */
  poison: Set<string>;
  /** After this many accepted events, go down. */
  downAfter?: number;
}

const decode = async (request: Request): Promise<unknown> => {
  const raw = new Uint8Array(await request.arrayBuffer());
  const bytes = request.headers.get("content-encoding") === "gzip"
    ? new Uint8Array(
      await new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip")))
        .arrayBuffer(),
    )
    : raw;
  return JSON.parse(new TextDecoder().decode(bytes));
};

// What Marquez 0.51 refuses that the spec allows (the kit's Marquez-safe rules).
const problemOf = (e: Event): string | undefined => {
  if (!e?.run?.runId || !e?.job?.name || !e?.job?.namespace || !e?.eventType) {
    return "missing run.runId, job or eventType";
  }
  const jobType = e.job.facets?.jobType;
  if (jobType && !jobType.jobType) return "jobType facet without jobType";
  if (!String(e.schemaURL ?? "").endsWith("/RunEvent")) return "schemaURL must end in /RunEvent";
  return undefined;
};

/** A fake Marquez at {@link MARQUEZ}`/api/v1/lineage`. */
export const makeFakeMarquez = (): FakeMarquez => {
  const fake: FakeMarquez = {
    requests: [],
    accepted: [],
    mode: "up",
    failFirst: 0,
    script: [],
    poison: new Set(),
    handler: http.all(`${MARQUEZ}/api/v1/lineage`, async ({ request }) => {
      const headers = Object.fromEntries(request.headers.entries());
      const body = await decode(request);
      const seen = (status: SeenRequest["status"]) =>
        fake.requests.push({ method: request.method, url: request.url, headers, body, status });
      if (fake.downAfter !== undefined && fake.accepted.length >= fake.downAfter) {
        fake.mode = "down";
      }
      if (fake.mode === "down") {
        seen("network-error");
        return HttpResponse.error();
      }
      if (fake.mode === "hang") {
        seen("hang");
        return await new Promise<Response>(() => {});
      }
      const scripted = fake.script.shift();
      if (scripted) {
        seen(scripted.status);
        const h: Record<string, string> = scripted.retryAfter
          ? { "Retry-After": scripted.retryAfter }
          : {};
        return new HttpResponse(scripted.body ?? null, { status: scripted.status, headers: h });
      }
      if (fake.failFirst > 0) {
        fake.failFirst--;
        seen(503);
        return new HttpResponse(null, { status: 503 });
      }
      const e = body as Event;
      if (fake.poison.has(`${e?.run?.runId}/${e?.eventType}`)) {
        seen(400);
        return HttpResponse.json({ code: 400, message: "refused" }, { status: 400 });
      }
      const problem = problemOf(e);
      if (problem) {
        seen(422);
        return HttpResponse.json({ code: 422, message: problem }, { status: 422 });
      }
      seen(201);
      fake.accepted.push(e);
      return new HttpResponse(null, { status: 201 });
    }),
  };
  return fake;
};
