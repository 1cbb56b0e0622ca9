/**
 * Value schemas the lineage configuration's sections share: numbers and booleans that may arrive
 * as text (variables are text), non-empty strings, string maps, and keys the kit refuses with a
 * reason instead of accepting and ignoring them.
 *
 * @module
 */
import { z } from "zod";
import { strictMapping } from "../policies/problem.ts";
import type { ConfigPath } from "./_config_sources.ts";

/**
 * A mapping that rejects unknown keys, naming the allowed ones (the configuration files' rule).
 *
 * @category constructors
 */
export const strict = strictMapping;

// Variables are text: numbers and booleans written there arrive as strings.
const toNumber = (v: unknown) =>
  typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
const toBool = (v: unknown) =>
  typeof v === "string" && /^(true|false)$/i.test(v.trim()) ? v.trim().toLowerCase() === "true" : v;

/**
 * A number > 0, also from text.
 *
 * @category constructors
 */
export const positive: z.ZodType<number> = z.preprocess(toNumber, z.number().positive());
/**
 * A number >= 0, also from text.
 *
 * @category constructors
 */
export const nonNegative: z.ZodType<number> = z.preprocess(toNumber, z.number().min(0));
/**
 * An integer >= 1, also from text.
 *
 * @category constructors
 */
export const count: z.ZodType<number> = z.preprocess(toNumber, z.number().int().min(1));
/**
 * An integer from 0 to 100, also from text.
 *
 * @category constructors
 */
export const percent: z.ZodType<number> = z.preprocess(
  toNumber,
  z.number().int().min(0).max(100),
);
/**
 * An integer, also from text.
 *
 * @category constructors
 */
export const integer: z.ZodType<number> = z.preprocess(toNumber, z.number().int());
/**
 * true or false, also from text.
 *
 * @category constructors
 */
export const flag: z.ZodType<boolean> = z.preprocess(toBool, z.boolean());
/**
 * A non-empty string.
 *
 * @category constructors
 */
export const text: z.ZodString = z.string().min(1);
/**
 * A mapping of strings; numbers and booleans are read as their text.
 *
 * @category constructors
 */
export const stringMap: z.ZodType<Record<string, string>> = z.record(
  z.string(),
  z.preprocess((v) => typeof v === "number" || typeof v === "boolean" ? String(v) : v, z.string()),
);

/**
 * A custom issue at `path`; `sentence` messages are shown as written, else after the key.
 *
 * @category constructors
 */
export const custom = (path: ConfigPath, message: string, sentence = false) => ({
  code: "custom" as const,
  path: [...path],
  message,
  params: { sentence },
});

/**
 * A key the official clients accept and the kit cannot honour: present, it is a problem that
 * says why (`is not supported: …`), never a value taken and ignored.
 *
 * @category constructors
 */
export const unsupported = (reason: string): z.ZodType<unknown> =>
  z.unknown().superRefine((_, ctx) => {
    ctx.addIssue({ code: "custom", message: `is not supported: ${reason}`, params: {} });
  }).optional();

/**
 * A boolean key of which the kit honours one value only; the other is refused with `reason`.
 *
 * @category constructors
 */
export const onlyValue = (value: boolean, reason: string): z.ZodType<boolean | undefined> =>
  flag.superRefine((v, ctx) => {
    if (v !== value) {
      ctx.addIssue({ code: "custom", message: `${v} is not supported: ${reason}`, params: {} });
    }
  }).optional();
