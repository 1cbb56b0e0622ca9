/**
 * The `facets`, `tags`, `job` and `run` sections of `openlineage.yml`: which facets to drop
 * (the Java client's `facets.<name>.disabled: true`, and the older `facets.disabled: [names]`),
 * which variables to record (`facets.environment_variables`, Python; `custom_environment_variables`,
 * Java), the git coordinates of `sourceCodeLocation` (`facets.source_code_location`, Python), job
 * and run tags (`tags.job` / `tags.run`, Python; `job.tags` / `run.tags`, Java) and job owners
 * (`job.owners`, Java).
 *
 * @module
 */
import { z } from "zod";
import type { ConfigProblem } from "./config_error.ts";
import type { ConfigPath } from "./_config_sources.ts";
import { decodeAt, quotedWord, type Where } from "./_config_issues.ts";
import { custom, flag, strict, text, unsupported } from "./_config_values.ts";

/**
 * A tag the configuration adds to jobs or runs.
 *
 * @category models
 */
export interface ConfigTag {
  /** The tag's key. */
  readonly key: string;
  /** Its value (`true` for a label). */
  readonly value: string;
  /** `USER` (Python's `tags`), `CONFIG` or as written (Java's `key:value:source`). */
  readonly source: string;
}

/**
 * Git coordinates `facets.source_code_location` sets for the `sourceCodeLocation` facet.
 *
 * @category models
 */
export interface SourceCodeSettings {
  /** The repository's URL (`repo_url`). */
  readonly repoUrl?: string;
  /** The commit (`version`). */
  readonly version?: string;
  /** The branch (`branch`). */
  readonly branch?: string;
  /** The tag (`tag`). */
  readonly tag?: string;
  /** The pull request (`pull_request_number`). */
  readonly pullRequestNumber?: string;
}

/**
 * What the configuration says about facets, tags and owners.
 *
 * @category models
 */
export interface FacetSettings {
  /** Facet keys removed from every OpenLineage event (wherever they occur). */
  readonly disabled: ReadonlyArray<string>;
  /**
   * Variables recorded in the `environmentVariables` run facet, with their values when the
   * configuration was resolved (unset ones are left out).
   */
  readonly environmentVariables: ReadonlyArray<{ readonly name: string; readonly value?: string }>;
  /**
   * Git coordinates for `sourceCodeLocation` (with `disabled: false`); `false` when the git
   * coordinates are switched off (`disabled: true`); absent: those read from `.git`.
   */
  readonly sourceCodeLocation?: SourceCodeSettings | false;
  /** Tags added to every job and every run (a configured key replaces an event's own). */
  readonly tags: { readonly job: ReadonlyArray<ConfigTag>; readonly run: ReadonlyArray<ConfigTag> };
  /** Owners added to every job's `ownership` facet (`job.owners`: type → name). */
  readonly owners: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /** The job namespace `job.namespace` sets (`OPENLINEAGE_NAMESPACE` wins over it). */
  readonly jobNamespace?: string;
}

/**
 * The facet keys the kit's events may carry, as they are written.
 *
 * @category models
 */
export const KIT_FACETS: ReadonlyArray<string> = [
  "parent",
  "processing_engine",
  "errorMessage",
  "nominalTime",
  "environmentVariables",
  "lineageKit_attempt",
  "lineageKit_gpu",
  "jobType",
  "documentation",
  "sourceCodeLocation",
  "ownership",
  "tags",
  "dataSource",
  "datasetType",
  "symlinks",
  "schema",
  "columnLineage",
  "lifecycleStateChange",
  "inputStatistics",
  "outputStatistics",
];

// The kit's Marquez rules need these on every event.
const REQUIRED: Readonly<Record<string, string>> = {
  parent: "Marquez nests stage runs under their pipeline run by it",
  jobType: "Marquez tells pipelines (DAG) from stages (TASK) by it",
};

const canonical = new Map(KIT_FACETS.map((f) => [f.toLowerCase(), f]));

// Lists as YAML lists, JSON lists in a variable, or Java's `[a;b]` / `a;b` text.
const nameList = z.union([
  z.array(text),
  z.string().transform((s) =>
    s.replace(/^\s*\[|\]\s*$/g, "").split(/[;,]/).map((x) => x.trim()).filter((x) => x)
  ),
]);

const sourceCode = strict({
  disabled: flag.optional(),
  repo_url: text.optional(),
  repoUrl: text.optional(),
  version: text.optional(),
  tag: text.optional(),
  branch: text.optional(),
  pull_request_number: z.union([text, z.number().int()]).transform(String).optional(),
  pullRequestNumber: z.union([text, z.number().int()]).transform(String).optional(),
}).superRefine((s, ctx) => {
  const values = Object.keys(s).filter((k) => k !== "disabled");
  if (values.length > 0 && s.disabled !== false) {
    ctx.addIssue(
      custom(
        [values[0]],
        "is only used with disabled: false (the official client's default is true)",
      ),
    );
  }
});

type Decoded<T> = { value: T; problems: ConfigProblem[] };

const facetName = (
  name: string,
  path: ConfigPath,
  where: Where,
  problems: ConfigProblem[],
): string | undefined => {
  const known = canonical.get(name.toLowerCase());
  if (known === undefined) {
    problems.push({
      where: where(path),
      message: `unknown facet${quotedWord(name) || ` ${JSON.stringify(name)}`} (the kit's: ${
        KIT_FACETS.join(", ")
      })`,
    });
    return undefined;
  }
  if (REQUIRED[known] !== undefined) {
    problems.push({
      where: where(path),
      message: `facet ${known} cannot be disabled: ${REQUIRED[known]}`,
    });
    return undefined;
  }
  return known;
};

const FIXED = new Set([
  "disabled",
  "environment_variables",
  "environmentVariables",
  "custom_environment_variables",
  "customEnvironmentVariables",
  "source_code_location",
  "sourceCodeLocation",
]);

/**
 * Decodes `facets` at `path`.
 *
 * @category constructors
 */
export const decodeFacets = (
  value: unknown,
  path: ConfigPath,
  where: Where,
  env: { get(key: string): string | undefined },
): Decoded<Pick<FacetSettings, "disabled" | "environmentVariables" | "sourceCodeLocation">> => {
  const problems: ConfigProblem[] = [];
  const out = {
    disabled: new Set<string>(),
    environmentVariables: [] as Array<{ name: string; value?: string }>,
  } as { disabled: Set<string>; environmentVariables: Array<{ name: string; value?: string }> };
  let sourceCodeLocation: SourceCodeSettings | false | undefined;
  const map = decodeAt(z.record(z.string(), z.unknown()), value, path, where);
  if (map.value === undefined) {
    return { value: { disabled: [], environmentVariables: [] }, problems: [...map.problems] };
  }
  for (const [key, entry] of Object.entries(map.value)) {
    const at = [...path, key];
    if (key === "disabled") {
      const names = decodeAt(nameList, entry, at, where);
      problems.push(...names.problems);
      (names.value ?? []).forEach((n, i) => {
        const f = facetName(n, [...at, i], where, problems);
        if (f) out.disabled.add(f);
      });
    } else if (/^(custom_)?environment_?variables$/i.test(key.replace(/([A-Z])/g, "_$1"))) {
      const names = decodeAt(nameList, entry, at, where);
      problems.push(...names.problems);
      for (const name of names.value ?? []) {
        if (out.environmentVariables.some((v) => v.name === name)) continue;
        const v = env.get(name);
        out.environmentVariables.push(v === undefined ? { name } : { name, value: v });
      }
    } else if (key === "source_code_location" || key === "sourceCodeLocation") {
      const s = decodeAt(sourceCode, entry, at, where);
      problems.push(...s.problems);
      if (s.value) sourceCodeLocation = sourceCodeOf(s.value);
    } else if (!FIXED.has(key)) {
      disabledFlags(key, entry, at, where, problems, out.disabled);
    }
  }
  return {
    value: {
      disabled: [...out.disabled],
      environmentVariables: out.environmentVariables,
      ...(sourceCodeLocation === undefined ? {} : { sourceCodeLocation }),
    },
    problems,
  };
};

const sourceCodeOf = (s: z.infer<typeof sourceCode>): SourceCodeSettings | false | undefined => {
  if (s.disabled === undefined) return undefined;
  if (s.disabled) return false;
  const settings: SourceCodeSettings = Object.fromEntries(
    Object.entries({
      repoUrl: s.repoUrl ?? s.repo_url,
      version: s.version,
      branch: s.branch,
      tag: s.tag,
      pullRequestNumber: s.pullRequestNumber ?? s.pull_request_number,
    }).filter(([, v]) => v !== undefined),
  );
  return settings;
};

// Java's `facets: {name: {disabled: true}}`; a nested key is a dotted facet name.
const disabledFlags = (
  key: string,
  entry: unknown,
  at: ConfigPath,
  where: Where,
  problems: ConfigProblem[],
  disabled: Set<string>,
) => {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    problems.push({
      where: where(at),
      message: `facets.${key} must be a mapping with disabled: true or false`,
    });
    return;
  }
  for (const [sub, v] of Object.entries(entry)) {
    if (sub !== "disabled") {
      disabledFlags(`${key}.${sub}`, v, [...at, sub], where, problems, disabled);
      continue;
    }
    const d = decodeAt(flag, v, [...at, sub], where);
    problems.push(...d.problems);
    const f = facetName(key, at, where, problems);
    if (f && d.value === true) disabled.add(f);
    if (f && d.value === false) disabled.delete(f);
  }
};

// Java's `key:value:source` tags, `;`-separated in text or one per list item; `\:` escapes.
const javaTags = z.union([z.array(z.string()), z.string()]).transform((v, ctx) => {
  const items = (Array.isArray(v) ? v : v.replaceAll("\\;", "\u0002").split(";"))
    .map((s) => s.replaceAll("\\:", "\u0001")).filter((s) => s.trim() !== "");
  return items.map((item, i) => {
    const [key, value = "true", source = "CONFIG"] = item.split(":").map((p) =>
      p.replaceAll("\u0001", ":").replaceAll("\u0002", ";").trim()
    );
    if (!key || !value || !source) {
      ctx.addIssue({
        code: "custom",
        path: Array.isArray(v) ? [i] : [],
        message: "must be key, key:value or key:value:source",
        params: {},
      });
    }
    return { key, value, source };
  });
});

const tagMap = z.record(
  z.string().min(1),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

const pythonTags = strict({ job: tagMap.optional(), run: tagMap.optional() });

const jobSection = strict({
  tags: javaTags.optional(),
  owners: z.record(z.string().min(1), text).optional(),
  namespace: text.optional(),
  name: unsupported("each job is named after its pipeline and stage"),
});

const runSection = strict({ tags: javaTags.optional() });

/**
 * Decodes `tags` (Python), `job` and `run` (Java) into tags, owners and the job namespace.
 *
 * @category constructors
 */
export const decodeTagsAndOwners = (
  sections: { tags?: unknown; job?: unknown; run?: unknown },
  where: Where,
): Decoded<Pick<FacetSettings, "tags" | "owners" | "jobNamespace">> => {
  const problems: ConfigProblem[] = [];
  const job: ConfigTag[] = [];
  const run: ConfigTag[] = [];
  let owners: Array<{ name: string; type: string }> = [];
  let jobNamespace: string | undefined;
  if (sections.job !== undefined) {
    const j = decodeAt(jobSection, sections.job, ["job"], where);
    problems.push(...j.problems);
    job.push(...(j.value?.tags ?? []));
    owners = Object.entries(j.value?.owners ?? {}).map(([type, name]) => ({ name, type }));
    jobNamespace = j.value?.namespace;
  }
  if (sections.run !== undefined) {
    const r = decodeAt(runSection, sections.run, ["run"], where);
    problems.push(...r.problems);
    run.push(...(r.value?.tags ?? []));
  }
  if (sections.tags !== undefined) {
    const t = decodeAt(pythonTags, sections.tags, ["tags"], where);
    problems.push(...t.problems);
    const user = (m: Record<string, string> | undefined) =>
      Object.entries(m ?? {}).map(([key, value]) => ({ key, value, source: "USER" }));
    job.push(...user(t.value?.job));
    run.push(...user(t.value?.run));
  }
  return {
    value: { tags: { job, run }, owners, ...(jobNamespace ? { jobNamespace } : {}) },
    problems,
  };
};
