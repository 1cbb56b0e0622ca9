/**
 * Building a stage's `config:` schema from its options: the YAML keys (snake_case) as a strict
 * zod object, turned into the stage's options, with the options' own cross-field checks reported
 * at the key each message names.
 *
 * @module
 */
import { z } from "zod";

/**
 * A strict `config:` schema over `shape` whose decoded value is `toOptions(config)`; `check`
 * returns messages of the form `"<key> must …"`, each reported at that key.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { optionsConfig } from "./stage_config.ts";
 *
 * const config = optionsConfig(
 *   { min: z.number().optional(), max: z.number().optional() },
 *   (c) => ({ min: c.min ?? 0, max: c.max ?? 10 }),
 *   (o) => (o.max < o.min ? [`max must be >= min (got ${o.max} < ${o.min})`] : []),
 * );
 * console.log(config.safeParse({ min: 5, max: 1 }).success); // false
 * ```
 *
 * @category schemas
 */
export const optionsConfig = <Shape extends z.ZodRawShape, Options>(
  shape: Shape,
  toOptions: (config: z.output<z.ZodObject<Shape>>) => Options,
  check: (options: Options) => ReadonlyArray<string> = () => [],
): z.ZodType<Options> =>
  z.strictObject(shape).transform((config, ctx) => {
    const options = toOptions(config as z.output<z.ZodObject<Shape>>);
    for (const message of check(options)) {
      const key = message.split(" ", 1)[0];
      const known = Object.hasOwn(shape, key);
      ctx.addIssue({
        code: "custom",
        path: known ? [key] : [],
        message: known ? message.slice(key.length + 1) : message,
      });
    }
    return options;
  }) as unknown as z.ZodType<Options>;
