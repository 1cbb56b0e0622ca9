/**
 * The limits every recorded file and HTTP body is held to before any of it is stored: its size,
 * how many values it holds, how deep a record nests and how long one string may be. They exist so
 * that one hostile or broken upstream record fails its own job with a message naming the file and
 * field, instead of overflowing the stack of a later stage, holding the process for minutes, or
 * making the store reject a write for the whole batch.
 *
 * The option names are the `snake_case` keys a configuration file uses (`input_limits:` with
 * `max_bytes`, `max_fields`, `max_depth`, `max_string_length`); error messages quote them so a
 * reader knows which setting to raise.
 *
 * Besides these limits, ingest always refuses text PostgreSQL `text`/`jsonb` cannot hold: the NUL
 * character (U+0000) and lone UTF-16 surrogates (U+D800–U+DFFF without their pair), in any string
 * or key. They are refused, not escaped: a record carrying them is corrupt upstream, and changing
 * its text silently would store something the source never said.
 *
 * @example
 * ```ts
 * import { defaultInputLimits, resolveInputLimits } from "./input_limits.ts";
 *
 * const limits = resolveInputLimits({ maxDepth: 32 });
 * console.log(limits.maxDepth, limits.maxBytes === defaultInputLimits.maxBytes); // 32 true
 * ```
 *
 * @module
 */

/**
 * Resolved input limits: every field set.
 *
 * @category models
 */
export interface InputLimits {
  /** The largest file or HTTP body accepted, in bytes (`max_bytes`). */
  readonly maxBytes: number;
  /**
   * The most values one file or body may hold: every object member and array item counted once,
   * however deep (`max_fields`).
   */
  readonly maxFields: number;
  /**
   * How deep one record may nest objects and arrays; the record itself is level 1 (`max_depth`).
   */
  readonly maxDepth: number;
  /** The longest string or object key accepted, in UTF-16 code units (`max_string_length`). */
  readonly maxStringLength: number;
}

/**
 * Input limits as configured: any field left out takes its default.
 *
 * @category models
 */
export type InputLimitsOptions = Partial<InputLimits>;

/**
 * The defaults, each far above what real records need. The largest bundled records are under
 * 200 KB, nest 9 levels and hold strings under 4,000 characters; an openFDA label section or a
 * ClinicalTrials.gov description stays under 100,000 characters.
 *
 * - `maxBytes`: 64 MiB (a ClinicalTrials.gov page of 1,000 full studies fits).
 * - `maxFields`: 4,000,000 values.
 * - `maxDepth`: 64 levels (PostgreSQL's `jsonb` refuses far shallower values than V8 can parse,
 *   and every stage that walks a record stays well within its stack).
 * - `maxStringLength`: 1,048,576 characters.
 *
 * @category constructors
 */
export const defaultInputLimits: InputLimits = {
  maxBytes: 64 * 1024 * 1024,
  maxFields: 4_000_000,
  maxDepth: 64,
  maxStringLength: 1_048_576,
};

/**
 * The configuration key of each limit, for messages that tell the reader what to raise.
 *
 * @category constructors
 */
export const inputLimitKeys: Readonly<Record<keyof InputLimits, string>> = {
  maxBytes: "max_bytes",
  maxFields: "max_fields",
  maxDepth: "max_depth",
  maxStringLength: "max_string_length",
};

const limitNames = Object.keys(defaultInputLimits) as ReadonlyArray<keyof InputLimits>;

/**
 * Checks configured limits: one message per problem, naming the configuration key (empty when
 * valid). Each limit must be a positive integer.
 *
 * @example
 * ```ts
 * import { validateInputLimits } from "./input_limits.ts";
 *
 * validateInputLimits({ maxDepth: 0 }); // ["max_depth must be a positive integer (got 0)"]
 * ```
 *
 * @category constructors
 */
export const validateInputLimits = (options: InputLimitsOptions): ReadonlyArray<string> =>
  limitNames.flatMap((name) => {
    const value: unknown = options[name];
    if (value === undefined) return [];
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 1
      ? []
      : [`${inputLimitKeys[name]} must be a positive integer (got ${String(value)})`];
  });

/**
 * Fills in the defaults of the limits left out.
 *
 * @throws {RangeError} when a limit is not a positive integer (see {@link validateInputLimits}).
 * @category constructors
 */
export const resolveInputLimits = (options: InputLimitsOptions = {}): InputLimits => {
  const problems = validateInputLimits(options);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  return {
    maxBytes: options.maxBytes ?? defaultInputLimits.maxBytes,
    maxFields: options.maxFields ?? defaultInputLimits.maxFields,
    maxDepth: options.maxDepth ?? defaultInputLimits.maxDepth,
    maxStringLength: options.maxStringLength ?? defaultInputLimits.maxStringLength,
  };
};
