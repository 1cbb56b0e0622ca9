/**
 * The `http` transport of `openlineage.yml`: the Python client's keys (`timeout` in seconds,
 * `custom_headers`, `retry.total`, `retry.backoff_factor`) and the Java client's
 * (`timeoutInMillis`, `headers`, `urlParams`, `retry.maxAttempts` …), decoded into an
 * {@link HttpTransportConfig}. Keys the kit cannot honour are refused with the reason.
 *
 * @module
 */
import { Redacted } from "effect";
import { z } from "zod";
import type { HttpTransportConfig } from "./http_transport.ts";
import {
  count,
  custom,
  flag,
  nonNegative,
  onlyValue,
  positive,
  strict,
  stringMap,
  text,
  unsupported,
} from "./_config_values.ts";

const isHttpUrl = (s: string): boolean => {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
  } catch {
    return false;
  }
};

const auth = strict({
  type: z.enum(["api_key"]),
  apiKey: text.optional(),
  api_key: text.optional(),
  // OPENLINEAGE__TRANSPORT__AUTH__APIKEY, as the Python client's documentation writes it.
  apikey: text.optional(),
}).superRefine((a, ctx) => {
  if (!a.apiKey && !a.api_key && !a.apikey) {
    ctx.addIssue({ code: "custom", path: ["apiKey"], message: "", params: { missing: true } });
  }
});

const RETRY_REASON = "the kit retries network errors, timeouts, 408, 425, 429 and 5xx, " +
  "honouring Retry-After, within maxAttempts and totalTimeout";

const retry = strict({
  maxAttempts: count.optional(),
  initialDelay: nonNegative.optional(),
  maxDelay: nonNegative.optional(),
  totalTimeout: positive.optional(),
  // The Python client's urllib3 settings: `total` retries and `backoff_factor` seconds map over.
  total: z.preprocess(
    (v) => typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v,
    z.number().int().min(0),
  ).optional(),
  backoff_factor: nonNegative.optional(),
  backoffFactor: nonNegative.optional(),
  read: unsupported(RETRY_REASON),
  connect: unsupported(RETRY_REASON),
  status: unsupported(RETRY_REASON),
  other: unsupported(RETRY_REASON),
  status_forcelist: unsupported(RETRY_REASON),
  statusForcelist: unsupported(RETRY_REASON),
  allowed_methods: unsupported("events are only ever sent with POST"),
  allowedMethods: unsupported("events are only ever sent with POST"),
  raise_on_redirect: unsupported(RETRY_REASON),
  raiseOnRedirect: unsupported(RETRY_REASON),
  raise_on_status: unsupported(RETRY_REASON),
  raiseOnStatus: unsupported(RETRY_REASON),
}).superRefine((r, ctx) => {
  if (r.total !== undefined && r.maxAttempts !== undefined) {
    ctx.addIssue(custom(["total"], "and maxAttempts are both set: keep one"));
  }
});

/**
 * The `http` transport's schema.
 *
 * @category constructors
 */
export const httpSchema = strict({
  type: z.literal("http"),
  name: text.optional(),
  priority: z.unknown().optional(),
  url: z.string().refine(isHttpUrl, "must be an http:// or https:// URL without credentials"),
  endpoint: z.string().optional(),
  timeout: positive.optional(),
  timeoutInMillis: positive.optional(),
  auth: auth.optional(),
  compression: z.enum(["gzip"]).optional(),
  headers: stringMap.optional(),
  customHeaders: stringMap.optional(),
  custom_headers: stringMap.optional(),
  urlParams: stringMap.optional(),
  verify: onlyValue(true, "Deno always verifies TLS (add a CA with DENO_CERT)"),
  retry: retry.optional(),
  batch: flag.optional(),
  batchEndpoint: z.string().optional(),
  maxBatch: count.optional(),
  concurrency: count.optional(),
  sslContextConfig: unsupported("Deno's TLS is configured with DENO_CERT"),
}).superRefine((h, ctx) => {
  if (h.timeout !== undefined && h.timeoutInMillis !== undefined) {
    ctx.addIssue(custom(["timeout"], "and timeoutInMillis are both set: keep one"));
  }
});

const seconds = (s: number | undefined) => s === undefined ? undefined : s * 1000;

/**
 * Drops undefined fields, so that configurations compare and print cleanly.
 *
 * @category constructors
 */
export const compact = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const retryOf = (r: z.infer<typeof retry>) => {
  const backoff = r.backoff_factor ?? r.backoffFactor;
  const limits = compact({
    maxAttempts: r.maxAttempts ?? (r.total === undefined ? undefined : r.total + 1),
    initialDelayMs: seconds(r.initialDelay ?? backoff),
    maxDelayMs: seconds(r.maxDelay),
    maxElapsedMs: seconds(r.totalTimeout),
  });
  return Object.keys(limits).length > 0 ? limits : undefined;
};

/**
 * The decoded `http` transport as the HTTP sink takes it.
 *
 * @category constructors
 */
export const httpConfig = (h: z.infer<typeof httpSchema>): HttpTransportConfig => {
  const key = h.auth?.apiKey ?? h.auth?.api_key ?? h.auth?.apikey;
  const headers = { ...h.custom_headers, ...h.customHeaders, ...h.headers };
  return compact({
    type: "http",
    url: h.url,
    endpoint: h.endpoint,
    apiKey: key ? Redacted.make(key) : undefined,
    compression: h.compression,
    timeoutMs: h.timeoutInMillis ?? seconds(h.timeout),
    headers: Object.keys(headers).length > 0 ? headers : undefined,
    urlParams: h.urlParams,
    retry: h.retry && retryOf(h.retry),
    batch: h.batch,
    batchEndpoint: h.batchEndpoint,
    maxBatch: h.maxBatch,
    concurrency: h.concurrency,
    name: h.name,
  });
};
