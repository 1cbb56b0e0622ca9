import { describe, expect, it } from "vitest";
import { parsePolicies, type Policy } from "../../policies/policy.ts";
import { formatProblem } from "../../policies/problem.ts";

const shipped = await Deno.readTextFile(new URL("../../policies/resilience.yaml", import.meta.url));

const messages = (text: string): ReadonlyArray<string> =>
  parsePolicies("policies/test.yaml", text).problems.map(formatProblem);

const valid = `policies:
  p:
    max_attempts: 3
    backoff_strategy: exponential
    backoff_initial_seconds: 1
    backoff_max_seconds: 30
    backoff_jitter_seconds: 1
    timeout_seconds: 30
`;

// The valid policy with one line replaced (the key must already be there) or appended.
const withLine = (key: string, line: string): string =>
  valid.includes(`    ${key}:`)
    ? valid.replace(new RegExp(`    ${key}:.*\\n`), `    ${line}\n`)
    : `${valid}    ${line}\n`;

describe("parsePolicies()", () => {
  it("decodes the shipped resilience.yaml into camelCase policies", () => {
    const { policies, problems } = parsePolicies("policies/resilience.yaml", shipped);
    expect(problems).toEqual([]);
    expect([...policies.values()]).toEqual<ReadonlyArray<Policy>>([
      {
        name: "default",
        maxAttempts: 3,
        backoffStrategy: "exponential",
        backoffInitialSeconds: 1,
        backoffMaxSeconds: 30,
        backoffJitterSeconds: 1,
        timeoutSeconds: 30,
        circuitBreaker: { failureThreshold: 5, resetTimeoutSeconds: 60 },
      },
      {
        name: "gpu-bound",
        maxAttempts: 1,
        backoffStrategy: "none",
        backoffInitialSeconds: 0,
        backoffMaxSeconds: 0,
        backoffJitterSeconds: 0,
        timeoutSeconds: 60,
        circuitBreaker: { failureThreshold: 5, resetTimeoutSeconds: 60 },
      },
      {
        name: "polite-api",
        maxAttempts: 10,
        backoffStrategy: "linear",
        backoffInitialSeconds: 1,
        backoffMaxSeconds: 10,
        backoffJitterSeconds: 0,
        timeoutSeconds: 10,
        rateLimitPerSecond: 5,
      },
    ]);
  });

  it("keeps optional rate limit and concurrency", () => {
    const text = `${valid}    rate_limit_per_second: 0.5\n    concurrency: 4\n`;
    const policy = parsePolicies("p.yaml", text).policies.get("p");
    expect(policy).toMatchObject({ rateLimitPerSecond: 0.5, concurrency: 4 });
  });

  it.each([
    ["max_attempts", "max_attempts: 0", `3:5: policy "p": "max_attempts" must be >= 1 (got 0)`],
    ["max_attempts", "max_attempts: 11", `3:5: policy "p": "max_attempts" must be <= 10 (got 11)`],
    [
      "max_attempts",
      "max_attempts: 2.5",
      `3:5: policy "p": "max_attempts" must be an integer (got 2.5)`,
    ],
    [
      "backoff_initial_seconds",
      "backoff_initial_seconds: -1",
      `5:5: policy "p": "backoff_initial_seconds" must be >= 0 (got -1)`,
    ],
    [
      "backoff_max_seconds",
      "backoff_max_seconds: 3601",
      `6:5: policy "p": "backoff_max_seconds" must be <= 3600 (got 3601)`,
    ],
    [
      "backoff_max_seconds",
      "backoff_max_seconds: 0.5",
      `6:5: policy "p": "backoff_max_seconds" must be >= backoff_initial_seconds (1) (got 0.5)`,
    ],
    [
      "backoff_jitter_seconds",
      "backoff_jitter_seconds: 4000",
      `7:5: policy "p": "backoff_jitter_seconds" must be <= 3600 (got 4000)`,
    ],
    [
      "timeout_seconds",
      "timeout_seconds: 0",
      `8:5: policy "p": "timeout_seconds" must be >= 1 (got 0)`,
    ],
    [
      "timeout_seconds",
      "timeout_seconds: 601",
      `8:5: policy "p": "timeout_seconds" must be <= 600 (got 601)`,
    ],
    [
      "timeout_seconds",
      `timeout_seconds: "30"`,
      `8:5: policy "p": "timeout_seconds" must be a number (got "30")`,
    ],
    [
      "rate_limit_per_second",
      "rate_limit_per_second: 0.05",
      `9:5: policy "p": "rate_limit_per_second" must be >= 0.1 (got 0.05)`,
    ],
    [
      "rate_limit_per_second",
      "rate_limit_per_second: 1001",
      `9:5: policy "p": "rate_limit_per_second" must be <= 1000 (got 1001)`,
    ],
    ["concurrency", "concurrency: 0", `9:5: policy "p": "concurrency" must be >= 1 (got 0)`],
    [
      "circuit_breaker",
      "circuit_breaker: { failure_threshold: 101, reset_timeout_seconds: 0 }",
      `9:24: policy "p": "circuit_breaker.failure_threshold" must be <= 100 (got 101)`,
      `9:48: policy "p": "circuit_breaker.reset_timeout_seconds" must be >= 1 (got 0)`,
    ],
  ])("reports %s out of range: %s", (key, line, ...expected) => {
    expect(messages(withLine(key, line))).toEqual(
      expected.map((e) => `policies/test.yaml:${e}`),
    );
  });

  it("names the allowed keys for an unknown key", () => {
    expect(messages(withLine("max_retries", "max_retries: 3"))).toEqual([
      `policies/test.yaml:9:5: policy "p": unknown key "max_retries" (allowed: max_attempts, ` +
      `backoff_strategy, backoff_initial_seconds, backoff_max_seconds, backoff_jitter_seconds, ` +
      `timeout_seconds, circuit_breaker, rate_limit_per_second, concurrency)`,
    ]);
    expect(messages(`${valid}    circuit_breaker: { failure_threshold: 5, reset_after: 60 }\n`))
      .toEqual([
        `policies/test.yaml:9:5: policy "p": missing required key "reset_timeout_seconds" in ` +
        `circuit_breaker`,
        `policies/test.yaml:9:46: policy "p": unknown key "reset_after" in circuit_breaker ` +
        `(allowed: failure_threshold, reset_timeout_seconds)`,
      ]);
    expect(messages(`${valid}defaults: {}\n`)).toEqual([
      `policies/test.yaml:9:1: unknown key "defaults" (allowed: policies)`,
    ]);
  });

  it("names the allowed values for an unknown backoff strategy", () => {
    expect(messages(withLine("backoff_strategy", "backoff_strategy: fibonacci"))).toEqual([
      `policies/test.yaml:4:5: policy "p": unknown backoff_strategy "fibonacci" ` +
      `(allowed: exponential, linear, none)`,
    ]);
  });

  it("reports every missing key (at the policy name) and every bad policy at once, in file order", () => {
    const text = `policies:\n  a:\n    max_attempts: 1\n  b: 3\n`;
    expect(messages(text)).toEqual([
      `policies/test.yaml:2:3: policy "a": missing required key "timeout_seconds"`,
      `policies/test.yaml:4:3: policy "b": the entry must be a mapping (got 3)`,
    ]);
  });

  it("gives a policy that omits its backoff keys exponential backoff from 1 s to 30 s, no jitter", () => {
    const text = `policies:\n  a:\n    max_attempts: 3\n    timeout_seconds: 5\n`;
    const { policies, problems } = parsePolicies("p.yaml", text);
    expect(problems).toEqual([]);
    expect(policies.get("a")).toEqual({
      name: "a",
      maxAttempts: 3,
      backoffStrategy: "exponential",
      backoffInitialSeconds: 1,
      backoffMaxSeconds: 30,
      backoffJitterSeconds: 0,
      timeoutSeconds: 5,
    });
  });

  it("reports YAML syntax errors with their position and decodes nothing", () => {
    const { policies, problems } = parsePolicies("p.yaml", "policies:\n  a: [1, 2\n");
    expect(policies.size).toBe(0);
    expect(problems.map(formatProblem)).toEqual([
      "p.yaml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently " +
      "indented and end with a ]",
    ]);
  });

  it("rejects a document that is not a mapping", () => {
    expect(messages("- default\n")).toEqual([
      "policies/test.yaml:1:1: the document must be a mapping (got a list)",
    ]);
  });
});
