/**
 * HTTP client for the MinerU service (`mineru-api`, 2.5.x and 3.x): posts a stored PDF to
 * `/file_parse` and returns its content list, and checks `/health`. Failures are classified into
 * the kit's errors so a GPU fault fails the job at once (no retry, no CPU fallback):
 *
 * - `CUDA out of memory` / `OutOfMemoryError` anywhere in `error`, `detail` or `message`, at any
 *   status (3.x reports it as 409, 2.x as 500) → `GpuOutOfMemory`;
 * - `CUDA error` / `CUBLAS` / `NCCL` / `Free memory on device` → `GpuUnavailable`;
 * - 503 "Server is at maximum capacity" → `Transient`: the service is healthy but busy, so the
 *   retry policy backs off; every other 503 ("Task manager is not initialized", an unhealthy
 *   health check, …) → `GpuUnavailable`, because the service cannot serve until restarted;
 * - connection refused or reset → `GpuUnavailable` (the GPU service is down);
 * - 409 without a GPU pattern → `InvalidInput` (MinerU could not parse this PDF), 400 →
 *   `InvalidInput`, 429 → `RateLimited`, 500 → `Permanent`, other 5xx (502, 504) → `Transient`,
 *   other 4xx → `Permanent`; a response that does not match the documented shapes → `Permanent`.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { Effect } from "effect";
import { z } from "zod";
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  isStageError,
  Permanent,
  RateLimited,
  type StageError,
  Timeout,
  Transient,
} from "../../stages/errors.ts";
import { type ContentListItem, contentListSchema } from "./content_list.ts";
import { describeNetworkError } from "../../stages/network_error.ts";

/** Options of {@link parsePdfWithMineru}. */
export interface MineruParseOptions {
  /** The service root, e.g. `http://127.0.0.1:8000`. */
  readonly baseUrl: string;
  /** The stored PDF to send. */
  readonly pdfPath: string;
  /** The file name sent in the form; MinerU keys its results by its stem. @default basename(pdfPath) */
  readonly fileName?: string;
  /** MinerU backend; `pipeline` exists in 2.5.x and 3.x. @default "pipeline" */
  readonly backend?: string;
  /** OCR language (`lang_list`); MinerU's own default is `ch`. @default "en" */
  readonly lang?: string;
  /** Gives up on the request after this long (a `Timeout`). @default no limit */
  readonly timeoutMs?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** What MinerU returned for one PDF. */
export interface MineruResult {
  /** The file name the PDF was sent under. */
  readonly fileName: string;
  /** The backend MinerU reports having used, when it says. */
  readonly backend: string | undefined;
  /** MinerU's version, when it says (e.g. `3.4.4`). */
  readonly version: string | undefined;
  /** The 3.x task id; absent on 2.5.x. */
  readonly taskId: string | undefined;
  /** The validated content list, in reading order. */
  readonly contentList: ReadonlyArray<ContentListItem>;
  /** The Markdown MinerU rendered, when it sent any (the client asks for none). */
  readonly markdown: string | undefined;
}

/** What `GET /health` said. 2.5.x has no health route: its status is `unknown`. */
export interface MineruHealth {
  /** `healthy`, or `unknown` when the service has no health route (2.5.x). */
  readonly status: "healthy" | "unknown";
  /** MinerU's version, when the health response gives it. */
  readonly version: string | undefined;
}

const outOfMemory = /CUDA out of memory|OutOfMemoryError/i;
const gpuFault = /CUDA error|CUBLAS|NCCL|Free memory on device/i;
const atCapacity = /maximum capacity/i;

const resultEntrySchema = z.looseObject({
  content_list: z.union([z.string(), z.array(z.unknown())]).nullish(),
  md_content: z.string().nullish(),
});

/** Both `/file_parse` shapes: 2.5.x `{backend, version, results}` and 3.x `{task_id, status, …}`. */
const responseSchema = z.looseObject({
  task_id: z.string().nullish(),
  status: z.string().nullish(),
  backend: z.string().nullish(),
  version: z.string().nullish(),
  error: z.string().nullish(),
  results: z.record(z.string(), resultEntrySchema).nullish(),
});

const reasonFields = ["error", "detail", "message"] as const;

const safeJson = (raw: string): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
};

const textOf = (u: unknown): string | undefined => {
  if (typeof u === "string") return u.trim() === "" ? undefined : u.trim();
  // FastAPI validation errors put a list of `{msg}` objects in `detail`.
  if (Array.isArray(u)) {
    const parts = u.map((v) => textOf((v as { msg?: unknown } | null)?.msg ?? v));
    return parts.filter((p) => p !== undefined).join("; ") || undefined;
  }
  return undefined;
};

/** The service's explanation from a body: `error`, else `detail`, else `message`, else the text. */
const reasonsOf = (body: unknown, raw: string): ReadonlyArray<string> => {
  const object = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
  const found = reasonFields.map((k) => textOf(object[k])).filter((r) => r !== undefined);
  if (found.length > 0) return found;
  const text = raw.trim();
  return [text === "" ? "(empty body)" : text.length > 300 ? `${text.slice(0, 300)}…` : text];
};

const retryAfterOf = (headers: Headers): number | undefined => {
  const seconds = Number(headers.get("retry-after"));
  return headers.has("retry-after") && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : undefined;
};

/** The GPU error a body's text names, if any. */
const gpuErrorOf = (reasons: ReadonlyArray<string>): StageError | undefined => {
  const oom = reasons.find((r) => outOfMemory.test(r));
  if (oom !== undefined) {
    return new GpuOutOfMemory({ message: `MinerU ran out of GPU memory: ${oom}` });
  }
  const fault = reasons.find((r) => gpuFault.test(r));
  return fault === undefined
    ? undefined
    : new GpuUnavailable({ message: `MinerU GPU failure: ${fault}` });
};

/**
 * Classifies a failed MinerU response (see the module doc for the table).
 *
 * @param status the HTTP status (use 409 for a 3.x body whose `status` is `failed`)
 * @param raw the response body as text (JSON or not)
 * @param context the PDF the request was about (the `path` of `InvalidInput`) and the headers
 * @category errors
 */
export const classifyMineruFailure = (
  status: number,
  raw: string,
  context: { readonly pdfPath: string; readonly headers?: Headers },
): StageError => {
  const reasons = reasonsOf(safeJson(raw), raw);
  const gpu = gpuErrorOf(reasons);
  if (gpu !== undefined) return gpu;
  const reason = reasons[0];
  const retryAfterMs = context.headers ? retryAfterOf(context.headers) : undefined;
  const path = context.pdfPath;
  if (status === 503 && atCapacity.test(reason)) {
    return new Transient({ message: `MinerU is at capacity (HTTP 503): ${reason}`, retryAfterMs });
  }
  if (status === 503) {
    return new GpuUnavailable({ message: `MinerU is unavailable (HTTP 503): ${reason}` });
  }
  if (status === 409) {
    return new InvalidInput({ message: `MinerU could not parse the PDF: ${reason}`, path });
  }
  if (status === 400) {
    return new InvalidInput({ message: `MinerU rejected the request (HTTP 400): ${reason}`, path });
  }
  if (status === 429) {
    return new RateLimited({
      message: `MinerU is rate limiting: ${reason}`,
      retryAfterMs: retryAfterMs ?? 1000,
    });
  }
  if (status === 500) return new Permanent({ message: `MinerU failed (HTTP 500): ${reason}` });
  if (status > 500) {
    return new Transient({ message: `MinerU returned HTTP ${status}: ${reason}`, retryAfterMs });
  }
  return new Permanent({ message: `MinerU returned HTTP ${status}: ${reason}` });
};

const trimBase = (baseUrl: string): string => baseUrl.replace(/\/+$/, "");

const signalFor = (signal: AbortSignal, timeoutMs: number | undefined): AbortSignal =>
  timeoutMs === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);

/** Maps anything a request threw to a stage error: a refused connection means the service is down. */
const requestFailure =
  (url: string, timeoutMs: number | undefined) => (error: unknown): StageError => {
    if (isStageError(error)) return error;
    const name = (error as { name?: unknown } | null)?.name;
    if (name === "TimeoutError" && timeoutMs !== undefined) {
      return new Timeout({
        message: `MinerU did not answer ${url} within ${timeoutMs} ms`,
        timeoutMs,
      });
    }
    // What happened to the connection (refused, an unknown host), not only "fetch failed".
    const { reason } = describeNetworkError(error);
    return new GpuUnavailable({ message: `MinerU at ${url} is unreachable: ${reason}` });
  };

const readPdf = async (pdfPath: string): Promise<Uint8Array> => {
  try {
    return new Uint8Array(await readFile(pdfPath));
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = code === "ENOENT"
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new InvalidInput({
      message: `${pdfPath}: cannot read the PDF: ${reason}`,
      path: pdfPath,
    });
  }
};

const formFor = (bytes: Uint8Array, fileName: string, options: MineruParseOptions): FormData => {
  const form = new FormData();
  form.append(
    "files",
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/pdf" }),
    fileName,
  );
  form.append("lang_list", options.lang ?? "en");
  form.append("backend", options.backend ?? "pipeline");
  form.append("return_content_list", "true");
  form.append("return_md", "false");
  return form;
};

const invalidResponse = (what: string, error: z.ZodError): Permanent => {
  const [first] = error.issues;
  const where = (first?.path ?? []).reduce<string>(
    (path, key) =>
      typeof key === "number"
        ? `${path}[${key}]`
        : path === ""
        ? String(key)
        : `${path}.${String(key)}`,
    "",
  );
  const detail = (first?.message ?? "invalid").replace(/^Invalid input: /, "");
  return new Permanent({
    message: `MinerU returned an unexpected ${what}: ${where === "" ? "" : `${where}: `}${detail}`,
  });
};

const contentListOf = (
  value: string | ReadonlyArray<unknown>,
  fileName: string,
): ReadonlyArray<ContentListItem> => {
  let items: unknown = value;
  if (typeof value === "string") {
    // 3.x returns the content list file verbatim, as JSON text inside the JSON response.
    try {
      items = JSON.parse(value);
    } catch {
      throw new Permanent({
        message: `MinerU returned a content_list for ${fileName} that is not JSON`,
      });
    }
  }
  const checked = contentListSchema.safeParse(items);
  if (!checked.success) throw invalidResponse("content_list", checked.error);
  return checked.data;
};

const resultOf = (body: unknown, fileName: string, pdfPath: string): MineruResult => {
  const parsed = responseSchema.safeParse(body);
  if (!parsed.success) throw invalidResponse("response", parsed.error);
  const response = parsed.data;
  if (response.status === "failed") {
    throw classifyMineruFailure(409, JSON.stringify(body), { pdfPath });
  }
  if (typeof response.status === "string" && response.status !== "completed") {
    throw new Permanent({ message: `MinerU answered with task status "${response.status}"` });
  }
  const results = response.results ?? {};
  const stem = basename(fileName, extname(fileName));
  const entries = Object.values(results);
  const entry = results[stem] ?? results[fileName] ??
    (entries.length === 1 ? entries[0] : undefined);
  if (entry?.content_list === undefined || entry.content_list === null) {
    const keys = Object.keys(results).join(", ") || "none";
    throw new Permanent({
      message: `MinerU returned no content_list for ${fileName} (results: ${keys})`,
    });
  }
  return {
    fileName,
    backend: response.backend ?? undefined,
    version: response.version ?? undefined,
    taskId: response.task_id ?? undefined,
    contentList: contentListOf(entry.content_list, fileName),
    markdown: entry.md_content ?? undefined,
  };
};

const parseOnce = async (
  options: MineruParseOptions,
  signal: AbortSignal,
): Promise<MineruResult> => {
  const fileName = options.fileName ?? basename(options.pdfPath);
  const bytes = await readPdf(options.pdfPath);
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = `${trimBase(options.baseUrl)}/file_parse`;
  let response: Response;
  let raw: string;
  try {
    response = await doFetch(url, {
      method: "POST",
      body: formFor(bytes, fileName, options),
      headers: { accept: "application/json" },
      signal: signalFor(signal, options.timeoutMs),
    });
    raw = await response.text();
  } catch (error) {
    throw requestFailure(url, options.timeoutMs)(error);
  }
  if (!response.ok) {
    throw classifyMineruFailure(response.status, raw, {
      pdfPath: options.pdfPath,
      headers: response.headers,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new Permanent({ message: `MinerU answered ${url} with a body that is not JSON` });
  }
  return resultOf(body, fileName, options.pdfPath);
};

/**
 * Sends a stored PDF to MinerU's `POST /file_parse` (multipart: `files`, `lang_list`, `backend`,
 * `return_content_list=true`, `return_md=false`) and returns its content list. Makes exactly one
 * request; retrying is the stage policy's business, and GPU errors are never retried.
 *
 * @param options the service, the PDF and the parse settings
 * @returns the validated content list and what MinerU said about itself
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { parsePdfWithMineru } from "./mineru_client.ts";
 * const program = parsePdfWithMineru({ baseUrl: "http://127.0.0.1:8000", pdfPath: "files/abc.pdf" });
 * const result = await Effect.runPromise(Effect.result(program));
 * console.log(result._tag);
 * ```
 * @category constructors
 */
export const parsePdfWithMineru = (
  options: MineruParseOptions,
): Effect.Effect<MineruResult, StageError> =>
  Effect.tryPromise({
    try: (signal) => parseOnce(options, signal),
    catch: requestFailure(`${trimBase(options.baseUrl)}/file_parse`, options.timeoutMs),
  });

const healthOf = (body: unknown): MineruHealth | GpuUnavailable => {
  const object = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
  const version = typeof object.version === "string" ? object.version : undefined;
  if (object.status === undefined || object.status === "healthy") {
    return { status: "healthy", version };
  }
  const reason = textOf(object.error) ?? String(object.status);
  return new GpuUnavailable({ message: `MinerU is unhealthy: ${reason}` });
};

/**
 * Asks `GET {baseUrl}/health` whether MinerU can serve. 503 or an unreachable service →
 * `GpuUnavailable`; 404 (2.5.x has no health route) → status `unknown`.
 *
 * @param baseUrl the service root
 * @param options the fetch to use and a timeout
 * @category constructors
 */
export const checkMineruHealth = (
  baseUrl: string,
  options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {},
): Effect.Effect<MineruHealth, GpuUnavailable | Timeout> => {
  const url = `${trimBase(baseUrl)}/health`;
  const check = async (signal: AbortSignal): Promise<MineruHealth> => {
    const response = await (options.fetch ?? globalThis.fetch)(url, {
      headers: { accept: "application/json" },
      signal: signalFor(signal, options.timeoutMs),
    });
    const raw = await response.text();
    if (response.status === 404) return { status: "unknown", version: undefined };
    if (!response.ok) {
      const reason = reasonsOf(safeJson(raw), raw)[0];
      throw new GpuUnavailable({
        message: `MinerU is unhealthy (HTTP ${response.status}): ${reason}`,
      });
    }
    const health = healthOf(safeJson(raw));
    if (health instanceof GpuUnavailable) throw health;
    return health;
  };
  return Effect.tryPromise({
    try: (signal) => check(signal),
    catch: (error) => {
      const mapped = requestFailure(url, options.timeoutMs)(error);
      // Health answers only "can it serve": anything but a timeout means it cannot.
      return mapped._tag === "Timeout" || mapped._tag === "GpuUnavailable"
        ? mapped
        : new GpuUnavailable({ message: mapped.message });
    },
  });
};
