/**
 * The Download stage for open-access PDFs: reads the PDF URL from the ingested record, fetches it
 * with guards, and stores it as `<fileArea>/<sha256>.pdf`.
 *
 * Guards (each an `InvalidInput`, never retried): http(s) only; redirects followed by hand, at
 * most `maxRedirects`, re-checking scheme and address on every hop; no loopback, private,
 * link-local, unspecified, multicast or cloud-metadata addresses unless `allowPrivateNetwork`
 * (IP literals are checked directly, host names through `resolveHost`, and one private address
 * among the resolved ones is enough to refuse); a size cap checked against `Content-Length` and
 * again while streaming; and a body that must start with `%PDF-`. Network errors, timeouts and
 * 5xx are `Transient`/`Timeout`, 429 is `RateLimited`, other 4xx are `Permanent`.
 *
 * The host is resolved before the request and again by `fetch`, so a resolver that answers
 * differently the second time (DNS rebinding) is not caught here; run downloads behind an
 * egress proxy where that matters.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Clock, Context, Effect } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { pdfReceiptSchema, rawPayloadSchema } from "../../stages/ir_schemas.ts";
import { dependencyOf } from "../http/fetch_json.ts";
import { describeNetworkError } from "../../stages/network_error.ts";
import {
  InvalidInput,
  isStageError,
  Permanent,
  RateLimited,
  type StageError,
  Timeout,
  Transient,
} from "../../stages/errors.ts";
import type { PdfReceipt } from "../../stages/ir.ts";
import { pdfUrlOf, requirePdfLink } from "../sources/pdf_sources.ts";

export { pdfUrlOf };

/** Options of {@link makePdfDownloadStage} and {@link downloadPdf}. */
export interface PdfDownloadOptions {
  /** The folder PDFs are stored in (created when missing). */
  readonly fileArea: string;
  /** The largest PDF accepted, in bytes. @default 104857600 (100 MB) */
  readonly maxBytes?: number;
  /** Allow loopback and private addresses (tests, intranet mirrors). @default false */
  readonly allowPrivateNetwork?: boolean;
  /** How many redirects are followed. @default 5 */
  readonly maxRedirects?: number;
  /** Gives up on the whole download after this long (a `Timeout`). @default no limit */
  readonly timeoutMs?: number;
  /** The `User-Agent` header. @default "lineage-kit (pdf download)" */
  readonly userAgent?: string;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Resolves a host name to its addresses. @default Deno.resolveDns, A and AAAA */
  readonly resolveHost?: (host: string) => Promise<ReadonlyArray<string>>;
}

interface Target {
  readonly docId: string;
  /** The record field the URL came from (the `path` of guard errors). */
  readonly path: string;
  readonly now: number;
}

const defaultMaxBytes = 100 * 1024 * 1024;
const defaultRetryAfterMs = 60_000;
const magic = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-"
const blockedNames = /^(localhost|metadata|metadata\.google\.internal)$|\.localhost$/i;

type Cidr = readonly [a: number, b: number, c: number, d: number, bits: number];

/** IPv4 ranges that must not be fetched: this-network, private, CGNAT, loopback, link-local
 * (cloud metadata at 169.254.169.254), IETF protocol, benchmarking, multicast, reserved. */
const privateV4: ReadonlyArray<Cidr> = [
  [0, 0, 0, 0, 8],
  [10, 0, 0, 0, 8],
  [100, 64, 0, 0, 10],
  [127, 0, 0, 0, 8],
  [169, 254, 0, 0, 16],
  [172, 16, 0, 0, 12],
  [192, 0, 0, 0, 24],
  [192, 168, 0, 0, 16],
  [198, 18, 0, 0, 15],
  [224, 0, 0, 0, 4],
  [240, 0, 0, 0, 4],
];

const inCidr = (bytes: ReadonlyArray<number>, [a, b, c, d, bits]: Cidr): boolean =>
  [a, b, c, d].every((byte, i) => {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    const mask = (0xff << (8 - keep)) & 0xff;
    return (bytes[i] & mask) === (byte & mask);
  });

const parseIpv4 = (s: string): ReadonlyArray<number> | undefined => {
  const parts = s.split(".");
  const valid = parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  return valid ? parts.map(Number) : undefined;
};

/** The 16 bytes of an IPv6 address (`::` compression, a dotted IPv4 tail and a zone allowed). */
const parseIpv6 = (input: string): ReadonlyArray<number> | undefined => {
  let s = input.replace(/%.*$/, "");
  let tail: ReadonlyArray<number> = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted !== null) {
    const v4 = parseIpv4(dotted[2]);
    if (v4 === undefined) return undefined;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    s = dotted[1].endsWith("::") ? dotted[1] : dotted[1].slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const count = head.length + rest.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const words = [
    ...head.map((g) => parseInt(g, 16)),
    ...new Array<number>(8 - count).fill(0),
    ...rest.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
};

const isPrivateV6 = (b: ReadonlyArray<number>): boolean => {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4At = (i: number) => privateV4.some((cidr) => inCidr(b.slice(i, i + 4), cidr));
  // ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped) carry an
  // IPv4 address; so do NAT64 64:ff9b::/96 and 6to4 2002::/16. Judge the embedded address.
  if (zeros(0, 12)) return v4At(12);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4At(12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) {
    return v4At(12);
  }
  if (b[0] === 0x20 && b[1] === 0x02) return v4At(2);
  return (b[0] & 0xfe) === 0xfc || // fc00::/7 unique local (fd00:ec2::254 metadata)
    (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) || // fe80::/10 link-local
    (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) || // fec0::/10 site-local
    b[0] === 0xff || // ff00::/8 multicast
    (b[0] === 0x01 && zeros(1, 8)); // 100::/64 discard
};

/**
 * Whether an IP address must not be fetched: loopback, private (10/8, 172.16/12, 192.168/16,
 * fc00::/7), link-local (169.254/16, fe80::/10, where cloud metadata lives), unspecified,
 * CGNAT, multicast and reserved ranges, including IPv4 addresses embedded in IPv6 (mapped,
 * compatible, NAT64, 6to4). Anything that does not parse as an address counts as private.
 *
 * @example
 * ```ts
 * import { isPrivateAddress } from "./pdf_download.ts";
 * isPrivateAddress("10.0.0.1"); // true
 * isPrivateAddress("::ffff:127.0.0.1"); // true
 * isPrivateAddress("93.184.216.34"); // false
 * ```
 * @category constructors
 */
export const isPrivateAddress = (ip: string): boolean => {
  const bare = ip.trim().replace(/^\[|\]$/g, "");
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return privateV4.some((cidr) => inCidr(v4, cidr));
  const v6 = parseIpv6(bare);
  return v6 === undefined ? true : isPrivateV6(v6);
};

const resolveDns = async (host: string): Promise<ReadonlyArray<string>> => {
  const answers = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  const found = answers.flatMap((a) => (a.status === "fulfilled" ? a.value : []));
  if (found.length > 0) return found;
  const failed = answers.find((a) => a.status === "rejected");
  throw failed?.reason ?? new Error("no A or AAAA records");
};

const isIpLiteral = (host: string): boolean => host.includes(":") || /^[\d.]+$/.test(host);

const refused = (hop: string, reason: string, path: string): InvalidInput =>
  new InvalidInput({
    message:
      `${hop}: ${reason} (allow it with --allow-private-network, or allowPrivateNetwork in the library)`,
    path,
  });

/** Checks one hop's scheme and address; throws the guard's error. */
const guardHop = async (url: URL, options: PdfDownloadOptions, path: string): Promise<void> => {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidInput({ message: `${url.href}: only http(s) URLs can be downloaded`, path });
  }
  if (options.allowPrivateNetwork) return;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIpLiteral(host)) {
    if (isPrivateAddress(host)) throw refused(url.href, `refusing private address ${host}`, path);
    return;
  }
  if (blockedNames.test(host)) throw refused(url.href, `refusing private host ${host}`, path);
  let addresses: ReadonlyArray<string>;
  try {
    addresses = await (options.resolveHost ?? resolveDns)(host);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Transient({ message: `${url.href}: cannot resolve ${host}: ${reason}` });
  }
  if (addresses.length === 0) {
    throw new Transient({ message: `${url.href}: ${host} has no address` });
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad !== undefined) {
    throw refused(url.href, `${host} resolves to private address ${bad}`, path);
  }
};

const isRedirect = (status: number): boolean => [301, 302, 303, 307, 308].includes(status);

/** Fetches `start`, following at most `maxRedirects` redirects, each hop guarded. */
const fetchGuarded = async (
  start: URL,
  options: PdfDownloadOptions,
  target: Target,
  signal: AbortSignal,
): Promise<{ readonly response: Response; readonly url: URL }> => {
  const maxRedirects = options.maxRedirects ?? 5;
  const doFetch = options.fetch ?? globalThis.fetch;
  let url = start;
  for (let redirects = 0;; redirects += 1) {
    await guardHop(url, options, target.path);
    const response = await doFetch(url, {
      redirect: "manual",
      signal,
      headers: {
        accept: "application/pdf",
        "user-agent": options.userAgent ?? "lineage-kit (pdf download)",
      },
    });
    if (!isRedirect(response.status)) return { response, url };
    await response.body?.cancel();
    const location = response.headers.get("location");
    if (location === null) {
      throw new Permanent({ message: `${url.href}: HTTP ${response.status} without a Location` });
    }
    if (redirects >= maxRedirects) {
      throw new InvalidInput({
        message: `${start.href}: more than ${maxRedirects} redirects (the last to ${location})`,
        path: target.path,
      });
    }
    url = new URL(location, url);
  }
};

const retryAfterMs = (headers: Headers, now: number): number => {
  const value = headers.get("retry-after");
  if (value === null) return defaultRetryAfterMs;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : defaultRetryAfterMs;
};

/** Fails for any response that is not a 2xx. */
const checkStatus = async (response: Response, url: URL, target: Target): Promise<void> => {
  if (response.ok) return;
  await response.body?.cancel();
  const what = `${url.href}: HTTP ${response.status}${
    response.statusText ? ` ${response.statusText}` : ""
  }`;
  if (response.status === 429) {
    throw new RateLimited({
      message: what,
      retryAfterMs: retryAfterMs(response.headers, target.now),
    });
  }
  if (response.status >= 500 || response.status === 408) throw new Transient({ message: what });
  throw new Permanent({ message: what });
};

const preview = (head: Uint8Array): string => {
  if (head.length === 0) return "an empty body";
  const shown = new TextDecoder().decode(head.slice(0, 14)).replace(/[^\x20-\x7e]/g, "?");
  return `starts with ${shown}${head.length > 14 ? "…" : ""}`;
};

const isPdfStart = (head: Uint8Array): boolean => magic.every((byte, i) => head[i] === byte);

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** Copies a body into `file`, hashing and counting, after its first bytes proved it a PDF. */
const copyBody = async (
  body: ReadableStream<Uint8Array> | null,
  file: FileHandle,
  maxBytes: number,
  refuse: (reason: string) => InvalidInput,
): Promise<{ readonly sha256: string; readonly bytes: number }> => {
  const hash = createHash("sha256");
  const reader = (body ?? new ReadableStream<Uint8Array>()).getReader();
  const write = async (chunk: Uint8Array) => {
    hash.update(chunk);
    await file.write(chunk);
  };
  let bytes = 0;
  // Nothing is written until the first five bytes have been seen and checked.
  let head: Uint8Array | undefined = new Uint8Array(0);
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      bytes += read.value.length;
      if (bytes > maxBytes) throw refuse(`body exceeds the ${maxBytes}-byte limit`);
      if (head === undefined) {
        await write(read.value);
        continue;
      }
      head = concat(head, read.value);
      if (head.length < magic.length) continue;
      if (!isPdfStart(head)) throw refuse(`not a PDF (${preview(head)})`);
      await write(head);
      head = undefined;
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  if (head !== undefined) throw refuse(`not a PDF (${preview(head)})`);
  return { sha256: hash.digest("hex"), bytes };
};

/** Streams the body to a temporary file and renames it to `<sha256>.pdf` once complete. */
const store = async (
  response: Response,
  url: URL,
  options: PdfDownloadOptions,
  target: Target,
): Promise<PdfReceipt> => {
  const maxBytes = options.maxBytes ?? defaultMaxBytes;
  const refuse = (reason: string) =>
    new InvalidInput({ message: `${url.href}: ${reason}`, path: target.path });
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw refuse(`Content-Length ${declared} exceeds the ${maxBytes}-byte limit`);
  }
  await mkdir(options.fileArea, { recursive: true });
  const temp = join(options.fileArea, `.${randomUUID()}.part`);
  const file = await open(temp, "wx");
  let stored = false;
  try {
    const { sha256, bytes } = await copyBody(response.body, file, maxBytes, refuse);
    await file.close();
    const path = join(options.fileArea, `${sha256}.pdf`);
    await rename(temp, path);
    stored = true;
    const contentType = response.headers.get("content-type") ?? "application/pdf";
    return { docId: target.docId, uri: url.href, path, sha256, bytes, contentType };
  } finally {
    if (!stored) {
      await file.close().catch(() => undefined);
      await rm(temp, { force: true });
    }
  }
};

const failureOf = (url: string, timeoutMs: number | undefined) => (error: unknown): StageError => {
  if (isStageError(error)) return error;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError" && timeoutMs !== undefined) {
    return new Timeout({ message: `${url}: download took longer than ${timeoutMs} ms`, timeoutMs });
  }
  // The innermost cause says what happened (an unknown host, a refused connection); fetch's own
  // message only "fetch failed".
  return new Transient({
    message: `${url}: download failed: ${describeNetworkError(error).reason}`,
  });
};

const download = async (
  url: string,
  options: PdfDownloadOptions,
  target: Target,
  signal: AbortSignal,
): Promise<PdfReceipt> => {
  let start: URL;
  try {
    start = new URL(url);
  } catch {
    throw new InvalidInput({ message: `${url}: not a URL`, path: target.path });
  }
  const { response, url: final } = await fetchGuarded(start, options, target, signal);
  await checkStatus(response, final, target);
  return await store(response, final, options, target);
};

/**
 * Downloads one PDF with the guards above and stores it as `<fileArea>/<sha256>.pdf`. The receipt's
 * `uri` is the final URL after redirects.
 *
 * @param url the PDF URL
 * @param options the guards, the file area and the fetch to use
 * @param target the document id and the record field the URL came from
 * @category constructors
 */
export const downloadPdf = (
  url: string,
  options: PdfDownloadOptions,
  target: { readonly docId: string; readonly path?: string },
): Effect.Effect<PdfReceipt, StageError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.tryPromise({
      try: (signal) => {
        const limited = options.timeoutMs === undefined
          ? signal
          : AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]);
        return download(
          url,
          options,
          { docId: target.docId, path: target.path ?? "url", now },
          limited,
        );
      },
      catch: failureOf(url, options.timeoutMs),
    }));

/**
 * Where the Download stage stores PDFs and what it may fetch, for a stage built without explicit
 * options: a command provides them (next to its store; `--allow-private-network`).
 *
 * @category services
 */
export const DownloadSettings: Context.Reference<PdfDownloadOptions> = Context.Reference<
  PdfDownloadOptions
>("@medkg/lineage-kit/DownloadSettings", {
  defaultValue: () => ({ fileArea: join(".lineage-kit", "pdfs") }),
});

/**
 * Builds the Download stage: reads the PDF link from the ingested record and stores the PDF,
 * setting the ledger's `pdf_downloaded`. Without `options` it uses {@link DownloadSettings}.
 * Keyed by the PDF's host for the circuit breaker and the polite rate limit.
 *
 * @example
 * ```ts
 * import { makePdfDownloadStage } from "./pdf_download.ts";
 * const download = makePdfDownloadStage({ fileArea: ".lineage-kit/pdfs" });
 * console.log(download.implementation); // "pdf-download"
 * ```
 *
 * @category constructors
 */
export const makePdfDownloadStage = (
  options?: PdfDownloadOptions,
): StageDefinition<
  PdfReceipt,
  Record<string, never>,
  { readonly Ingest: typeof rawPayloadSchema }
> =>
  defineStage({
    type: "Download",
    implementation: "pdf-download",
    description: "downloads the record's open-access PDF (guarded) and stores it",
    input: { Ingest: rawPayloadSchema },
    output: pdfReceiptSchema,
    dependency: (_ctx, { Ingest: payload }) => {
      const url = pdfUrlOf(payload);
      return url === undefined ? undefined : dependencyOf(url);
    },
    run: (_ctx, { Ingest: payload }) => {
      const docId = `${payload.source}:${payload.docKey}`;
      return Effect.flatMap(
        Effect.zip(
          requirePdfLink(payload),
          options === undefined ? Effect.service(DownloadSettings) : Effect.succeed(options),
        ),
        ([link, settings]) => downloadPdf(link.url, settings, { docId, path: link.path }),
      );
    },
    // A stored PDF is a ledger fact (`pdf_downloaded`) that gates and the MinerU bridge read.
    ledgerEffects: (pdf) => ({ pdfDownloaded: true, pdf }),
  });

/**
 * The built-in Download stage (settings from {@link DownloadSettings}).
 *
 * @category constructors
 */
export const pdfDownloadStage: StageDefinition<
  PdfReceipt,
  Record<string, never>,
  { readonly Ingest: typeof rawPayloadSchema }
> = makePdfDownloadStage();
