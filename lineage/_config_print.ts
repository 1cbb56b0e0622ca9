/**
 * The resolved lineage configuration as `deno task lineage --print-config` prints it: every value
 * with where it came from (`file:line:column`, variable, flag or default), secrets masked, then
 * what takes effect and the settings that lost to others.
 *
 * @module
 */
import type { LineageConfig } from "./config.ts";
import { describeLineageConfig } from "./_config_sinks.ts";
import { formatSettings } from "./_config_settings.ts";

/**
 * The configuration's settings and effect, as text.
 *
 * @category constructors
 */
export const printConfig = (config: LineageConfig): string =>
  [
    "settings:",
    formatSettings(config.settings).split("\n").map((l) => `  ${l}`).join("\n"),
    "",
    "in effect:",
    describeLineageConfig(config).split("\n").map((l) => `  ${l}`).join("\n"),
  ].join("\n");
