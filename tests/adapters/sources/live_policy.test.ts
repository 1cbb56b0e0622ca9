/**
 * The policy live discovery runs its requests under, on virtual time: a 429's `Retry-After` is
 * waited out, 5xx answers are retried with the shipped `polite-api` backoff until its attempts are
 * spent, and the rate limit paces requests per host. Requests are stamped with the TestClock's
 * time as msw receives them.
 */
import { describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Effect } from "effect";
import { TestClock } from "effect/testing";
import { http, HttpResponse } from "msw";
import { clinicalTrialsStudiesUrl } from "../../../adapters/sources/clinicaltrials_live.ts";
import { kitPolicy } from "../../../adapters/sources/live_policy.ts";
import type { LiveSourceOptions } from "../../../adapters/sources/live_settings.ts";
import { layer as resilienceLayer, summary } from "../../../policies/resilience.ts";
import { Transient } from "../../../stages/errors.ts";
import type { SourceQuery } from "../../../stages/source_contract.ts";
import { compareStageErrorMessages, recordedJson, useMockServer } from "../../_fixtures/http.ts";
import { drive, makeProbe, type Probe } from "../../pipelines/_resilience_harness.ts";
import { discoverEffect } from "./_live_harness.ts";

compareStageErrorMessages();
const { server } = useMockServer();

const START = Date.parse("2026-01-01T00:00:00Z");
const page1 = recordedJson("clinicaltrials/search_phelan_limit5_20260811.json") as {
  studies: ReadonlyArray<unknown>;
};
const query: SourceQuery = { query: "Phelan-McDermid Syndrome", limit: 5 };
const firstUrl =
  "https://clinicaltrials.gov/api/v2/studies?query.term=Phelan-McDermid+Syndrome&pageSize=5&countTotal=true";

/** A request as msw received it: its URL and the virtual time since START. */
interface Sent {
  readonly url: string;
  readonly at: number;
}

const sentLog = Effect.gen(function* () {
  const clock = yield* TestClock.testClockWith(Effect.succeed);
  const sent: Array<Sent> = [];
  const note = (request: Request): void => {
    sent.push({ url: request.url, at: clock.currentTimeMillisUnsafe() - START });
  };
  return { sent, note };
});

/** The answers to successive calls: the n-th call gets `answers[n - 1]`, later ones the last. */
const inTurn = (answers: ReadonlyArray<() => Response>) => {
  let calls = 0;
  return (): Response => answers[Math.min(calls++, answers.length - 1)]();
};

/** Settings whose fetch counts each exchange, body included, as in flight for the driver. */
const tracked = (probe: Probe, more: LiveSourceOptions = {}): LiveSourceOptions => ({
  ...more,
  fetch: async (input, init) => {
    probe.busy += 1;
    try {
      const response = await globalThis.fetch(input, init);
      const body = await response.arrayBuffer();
      return new Response(body, { status: response.status, headers: response.headers });
    } finally {
      probe.busy -= 1;
    }
  },
});

describe("live discovery under the polite-api policy", () => {
  it.effect("waits out a 429's Retry-After (7 s, not the 1 s backoff) and is rate limited by host", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      const answer = inTurn([
        () => new HttpResponse("slow down", { status: 429, headers: { "retry-after": "7" } }),
        () => HttpResponse.json(page1),
      ]);
      server.use(http.get(clinicalTrialsStudiesUrl, ({ request }) => (note(request), answer())));
      const probe = makeProbe();
      const { found, limits } = yield* Effect.gen(function* () {
        const found = yield* drive(
          discoverEffect("clinicaltrials", query, tracked(probe)),
          probe,
        );
        return { found, limits: (yield* summary()).rateLimits };
      }).pipe(Effect.provide(resilienceLayer));

      expect(sent).toEqual([{ url: firstUrl, at: 0 }, { url: firstUrl, at: 7000 }]);
      expect(found.map((f) => f.record)).toEqual(page1.studies);
      expect(limits).toEqual([{ key: "clinicaltrials.gov", calls: 2, waits: 0, waitedMs: 0 }]);
    }));

  it.effect("retries 503 with the linear backoff until 10 attempts are spent, then fails naming the URL", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      server.use(
        http.get(clinicalTrialsStudiesUrl, ({ request }) => {
          note(request);
          return new HttpResponse("busy", { status: 503 });
        }),
      );
      const probe = makeProbe();
      const error = yield* Effect.flip(
        drive(discoverEffect("clinicaltrials", query, tracked(probe)), probe, 500),
      );

      expect(sent.map((s) => s.at)).toEqual([
        0,
        1000,
        3000,
        6000,
        10_000,
        15_000,
        21_000,
        28_000,
        36_000,
        45_000,
      ]);
      expect(error).toEqual(new Transient({ message: `GET ${firstUrl}: HTTP 503: busy` }));
    }));

  it.effect("spaces requests to one host by the policy's rate limit", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      const ids = ["NCT00763412", "NCT03630471", "NCT06171568"];
      server.use(
        http.get(`${clinicalTrialsStudiesUrl}/:id`, ({ request, params }) => {
          note(request);
          return HttpResponse.json(recordedJson(`clinicaltrials/${String(params.id)}.json`));
        }),
      );
      const politeApi = yield* kitPolicy();
      const oncePerSecond = { ...politeApi, rateLimitPerSecond: 1 };
      const probe = makeProbe();
      const found = yield* drive(
        discoverEffect(
          "clinicaltrials",
          { ids, limit: 3 },
          tracked(probe, { policy: oncePerSecond }),
        ),
        probe,
        100,
      );

      expect(found.map((f) => f.docKey)).toEqual(ids);
      expect(sent).toEqual(
        ids.map((id, i) => ({ url: `${clinicalTrialsStudiesUrl}/${id}`, at: i * 1000 })),
      );
    }));
});
