/**
 * A small, strict command-line parser: known flags only, typed values, repeatable flags, and a
 * message naming the flag and what was expected for anything else.
 *
 * @module
 */

/** One accepted flag. */
export interface FlagSpec {
  readonly type: "string" | "boolean" | "integer" | "number";
  readonly repeatable?: boolean;
  /** For integers and numbers: the smallest accepted value. */
  readonly min?: number;
  /** For integers and numbers: the largest accepted value. */
  readonly max?: number;
}

/** Parsed flags and positional arguments. */
export interface ParsedArgs {
  readonly flags: Readonly<Record<string, string | boolean | number | ReadonlyArray<string>>>;
  readonly positional: ReadonlyArray<string>;
}

/** A usage error: the CLI prints it with the usage text and exits 2. */
export { SetupError as UsageError } from "../kit/setup_error.ts";
import { SetupError as UsageError } from "../kit/setup_error.ts";

const parseValue = (name: string, spec: FlagSpec, raw: string): string | number => {
  if (spec.type !== "integer" && spec.type !== "number") return raw;
  const n = raw.trim() === "" ? Number.NaN : Number(raw);
  const valid = spec.type === "integer" ? Number.isInteger(n) : Number.isFinite(n);
  if (
    !valid || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)
  ) {
    const bounds = [
      ...(spec.min !== undefined ? [`>= ${spec.min}`] : []),
      ...(spec.max !== undefined ? [`<= ${spec.max}`] : []),
    ];
    throw new UsageError(
      `--${name}: expected ${spec.type === "integer" ? "an integer" : "a number"}${
        bounds.length > 0 ? ` ${bounds.join(" and ")}` : ""
      }, got "${raw}"`,
    );
  }
  return n;
};

/** Parses `args` against `specs`; throws {@link UsageError} for anything unknown or malformed. */
export const parseArgs = (
  args: ReadonlyArray<string>,
  specs: Readonly<Record<string, FlagSpec>>,
): ParsedArgs => {
  const flags: Record<string, string | boolean | number | string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const spec = specs[name];
    if (!spec) {
      throw new UsageError(
        `unknown option --${name} (known: ${Object.keys(specs).map((k) => `--${k}`).join(", ")})`,
      );
    }
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = inline ?? args[++i];
    if (raw === undefined || (inline === undefined && raw.startsWith("--"))) {
      throw new UsageError(`--${name}: expected a value`);
    }
    const value = parseValue(name, spec, raw);
    if (spec.repeatable) {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), String(value)];
    } else if (name in flags) {
      throw new UsageError(`--${name} given twice`);
    } else {
      flags[name] = value;
    }
  }
  return { flags, positional };
};
