/**
 * The policy live discovery runs every request under, and the resilience state it runs in.
 *
 * Each page request and each single-record fetch is one `withPolicy` call keyed by the API's host:
 * the host's token bucket is waited for, transient failures (network, 5xx, timeouts) are retried
 * with the policy's backoff, and a 429's `Retry-After` is honoured (capped by the policy's
 * `backoff_max_seconds`). The policy is the one the settings name, else the kit's own `polite-api`
 * from `policies/resilience.yaml`, read when a discovery starts. A discovery uses the process's
 * {@link Resilience} service when one is provided (so its buckets are shared with the run), and
 * builds a fresh one for itself otherwise.
 *
 * @module
 */
import { Effect, Option } from "effect";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parsePolicies, type Policy } from "../../policies/policy.ts";
import { formatProblem } from "../../policies/problem.ts";
import { layer as resilienceLayer, Resilience, withPolicy } from "../../policies/resilience.ts";
import { Permanent, type StageError } from "../../stages/errors.ts";
import type { SourceName } from "../../stages/ir.ts";
import { dependencyOf } from "../http/fetch_json.ts";
import { LiveSourceSettings } from "./live_settings.ts";

/**
 * The name of the policy live discovery runs under by default.
 *
 * @category constructors
 */
export const livePolicyName = "polite-api";

/**
 * The kit's own resilience file, next to this module.
 *
 * @category constructors
 */
export const kitPolicyFile: string = fileURLToPath(
  new URL("../../policies/resilience.yaml", import.meta.url),
);

/**
 * Reads one named policy from the kit's `policies/resilience.yaml`; a file that cannot be read or
 * does not define it is `Permanent`.
 *
 * @category constructors
 */
export const kitPolicy = (name: string = livePolicyName): Effect.Effect<Policy, Permanent> =>
  Effect.tryPromise({
    try: () => readFile(kitPolicyFile, "utf8"),
    catch: (error) =>
      new Permanent({ message: `cannot read ${kitPolicyFile}: ${(error as Error).message}` }),
  }).pipe(
    Effect.flatMap((text) => {
      const { policies, problems } = parsePolicies(kitPolicyFile, text);
      const policy = policies.get(name);
      if (policy !== undefined) return Effect.succeed(policy);
      const why = problems.length > 0
        ? problems.map(formatProblem).join("; ")
        : `no policy "${name}" (known: ${[...policies.keys()].join(", ")})`;
      return Effect.fail(new Permanent({ message: `${kitPolicyFile}: ${why}` }));
    }),
  );

/**
 * The policy of the current settings, else the kit's `polite-api`.
 *
 * @category constructors
 */
export const livePolicy: Effect.Effect<Policy, Permanent> = Effect.flatMap(
  Effect.service(LiveSourceSettings),
  (settings) => (settings.policy === undefined ? kitPolicy() : Effect.succeed(settings.policy)),
);

/**
 * Runs a discovery in the process's resilience state when one is provided, else in a fresh one
 * built for it (its rate limits then hold within the discovery).
 *
 * @category combinators
 */
export const inResilience = <A, E>(
  effect: Effect.Effect<A, E, Resilience>,
): Effect.Effect<A, E> =>
  Effect.flatMap(
    Effect.serviceOption(Resilience),
    (found) =>
      Option.isSome(found)
        ? Effect.provideService(effect, Resilience, found.value)
        : Effect.provide(effect, resilienceLayer, { local: true }),
  );

/**
 * Makes one request under the policy, keyed by the URL's host for the rate limit and breaker.
 *
 * @category combinators
 */
export const politely = <A>(
  policy: Policy,
  source: SourceName,
  url: string,
  request: Effect.Effect<A, StageError>,
): Effect.Effect<A, StageError, Resilience> =>
  withPolicy(policy, { stage: `discover:${source}`, dependency: dependencyOf(url) }, request);
