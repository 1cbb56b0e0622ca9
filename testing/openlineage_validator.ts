/**
 * Offline validators for the events lineage-kit emits, usable on anyone's events: OpenLineage
 * events against the official JSON schemas (a local copy of `https://openlineage.io/spec/`, plus
 * any custom facet schemas) with Marquez's extra constraints, and structured-mode CloudEvents
 * against the CloudEvents JSON schema.
 *
 * An OpenLineage event is checked three ways. The core schema is picked by the event's
 * `schemaURL` (its version, then the definition named after `#/$defs/`), falling back to the
 * current core. Each facet is checked by its position and key (`run.facets.parent` against
 * ParentRunFacet, `outputs[i].outputFacets.outputStatistics` against OutputStatistics…), the map
 * being read from each facet schema's top-level `properties` and the base facet it extends, and
 * also against the schema its `_schemaURL` names when that schema is known. Facets under unknown
 * keys only need `_producer` and `_schemaURL`. Then the Marquez rules apply (see
 * {@linkcode OpenLineageValidatorOptions.marquez}).
 *
 * @example
 * ```ts
 * import { makeOpenLineageValidator } from "./openlineage_validator.ts";
 *
 * const validator = await makeOpenLineageValidator();
 * const issues = validator.validate({ eventType: "START" });
 * console.log(issues); // [{ path: "/eventTime", message: "must have required property 'eventTime'" }, …]
 * ```
 *
 * @module
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { Ajv } from "ajv";
import type { AnySchemaObject, ErrorObject, ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

// Deno types this CommonJS default import as the module object; the plugin is its `default`.
const addFormatsPlugin = addFormats.default;

/**
 * One reason an event is invalid: where (a JSON pointer into the event) and what.
 *
 * @category testing
 */
export interface ValidationIssue {
  /** JSON pointer to the offending value, such as `/run/facets/parent/run/runId`. */
  readonly path: string;
  /** What is wrong there, in Ajv's wording (`must have required property 'runId'`). */
  readonly message: string;
}

/**
 * Where a facet sits in an event, which decides the base facet it must extend.
 *
 * @category testing
 */
export type FacetPosition = "run" | "job" | "dataset" | "inputDataset" | "outputDataset";

/**
 * Where the schemas live and which extra rules apply.
 *
 * @category testing
 */
export interface OpenLineageValidatorOptions {
  /**
   * A copy of the OpenLineage repository's schema files: every `*.json` with a `$id` below it is
   * loaded (for `specs/openlineage`, the `spec/` folder and the published mirror
   * `website/static/spec/`). `spec/OpenLineage.json` is the fallback core schema.
   *
   * @default the schemas shipped with the package: every published core and facet version up to
   * spec 2-0-2, and lineage-kit's custom facets
   */
  readonly specDir?: string | URL;
  /** Folders of custom facet schemas (draft 2020-12, `$id` set, extending an OpenLineage base facet). */
  readonly extraSchemaDirs?: ReadonlyArray<string | URL>;
  /**
   * Apply Marquez's rules: a run event's `schemaURL` ends in `/RunEvent`; a `jobType` job facet
   * has `jobType`; job and dataset namespaces match `^[a-zA-Z:;=/0-9_\-\.@+]{1,1024}$`; job and
   * dataset names contain no `:` or `#`. The recorded Airflow events all pass these rules.
   *
   * @default true
   */
  readonly marquez?: boolean;
}

/**
 * A loaded OpenLineage validator.
 *
 * @category testing
 */
export interface OpenLineageValidator {
  /** Every issue found in `event`; an empty list means valid. */
  readonly validate: (event: unknown) => ReadonlyArray<ValidationIssue>;
  /** The schema references a facet under `key` at `position` is checked against (empty: unknown key). */
  readonly facetSchemasFor: (position: FacetPosition, key: string) => ReadonlyArray<string>;
}

/**
 * A loaded CloudEvents validator.
 *
 * @category testing
 */
export interface CloudEventValidator {
  /** Every issue found in a structured-mode (JSON) CloudEvent; an empty list means valid. */
  readonly validate: (event: unknown) => ReadonlyArray<ValidationIssue>;
}

type Json = Record<string, unknown>;
interface Loaded {
  readonly file: string;
  readonly schema: Json & { readonly $id: string };
}

const MARQUEZ_NAMESPACE = /^[a-zA-Z:;=/0-9_\-\.@+]{1,1024}$/;
const CORE_ID = /^https:\/\/openlineage\.io\/spec\/(\d+)-(\d+)-(\d+)\/OpenLineage\.json$/;
const VERSIONED_ID = /\/(\d+)-(\d+)-(\d+)\/([^/]+)\.json$/;
// A package file served at a release, as JSR does: `…/@medkg/lineage-kit/0.1.0/lineage/schemas/X.json`.
const PACKAGE_VERSIONED_ID = /\/(\d+)\.(\d+)\.(\d+)\/(?:[^/]+\/)*([^/]+)\.json$/;
const BASE_REF = /OpenLineage\.json#\/(?:\$defs|definitions)\/(\w+)$/;
const BASES: Readonly<Record<string, FacetPosition>> = {
  RunFacet: "run",
  JobFacet: "job",
  DatasetFacet: "dataset",
  InputDatasetFacet: "inputDataset",
  OutputDatasetFacet: "outputDataset",
};
const COMBINATORS = new Set(["anyOf", "oneOf", "if"]);

/**
 * Loads the OpenLineage schemas and custom facet schemas and builds a validator.
 *
 * @param options the schema folders and whether Marquez's rules apply
 * @returns a validator whose `validate` lists issues with JSON-pointer paths
 * @example
 * ```ts
 * import { makeOpenLineageValidator } from "./openlineage_validator.ts";
 *
 * const validator = await makeOpenLineageValidator();
 * console.log(validator.facetSchemasFor("run", "parent"));
 * ```
 * @category testing
 */
export async function makeOpenLineageValidator(
  options: OpenLineageValidatorOptions = {},
): Promise<OpenLineageValidator> {
  const extra = await loadSchemas((options.extraSchemaDirs ?? []).map(toPath));
  let loaded: Loaded[];
  let fallbackCore: string;
  if (options.specDir === undefined) {
    const bundle = await shippedSchemas();
    loaded = [...bundle.schemas, ...extra.filter((l) => !bundle.ids.has(l.schema.$id))];
    fallbackCore = bundle.current;
  } else {
    const specDir = toPath(options.specDir);
    const found = await loadSchemas([specDir]);
    const ids = new Set(found.map((l) => l.schema.$id));
    loaded = [...found, ...extra.filter((l) => !ids.has(l.schema.$id))];
    fallbackCore = currentCoreId(loaded, specDir);
  }
  const ctx = { ...schemaStore(loaded), keyMap: facetKeyMap(loaded) };
  const marquez = options.marquez ?? true;
  return {
    validate: (event) => {
      const core = coreRef(event, ctx.byId, fallbackCore);
      const issues = [...run(ctx.compile(core), event, "")];
      for (const site of facetSites(event)) {
        for (const [key, facet] of Object.entries(site.facets)) {
          if (!isObject(facet)) continue;
          issues.push(
            ...facetIssues(ctx, site.position, key, facet, `${site.path}/${escape(key)}`),
          );
        }
      }
      if (marquez) issues.push(...marquezIssues(event));
      return dedupe(issues);
    },
    facetSchemasFor: (position, key) => ctx.keyMap.get(`${position}/${key}`) ?? [],
  };
}

/**
 * Loads a CloudEvents JSON schema (the draft-07 `cloudevents.json` of the CloudEvents spec) and
 * builds a validator for structured-mode events. Beyond the schema it checks that attribute
 * names are lowercase letters and digits and that `data` and `data_base64` are not both present.
 *
 * @param schemaPath path to `cloudevents.json` (@default the CloudEvents 1.0 schema shipped
 *   with the package)
 * @returns a validator whose `validate` lists issues with JSON-pointer paths
 * @example
 * ```ts
 * import { makeCloudEventValidator } from "./openlineage_validator.ts";
 *
 * const validator = await makeCloudEventValidator();
 * console.log(validator.validate({ id: "1", source: "/x", type: "t" }));
 * ```
 * @category testing
 */
export async function makeCloudEventValidator(
  schemaPath?: string | URL,
): Promise<CloudEventValidator> {
  const schema =
    (schemaPath === undefined
      ? (await import("./schemas/cloudevents.json", { with: { type: "json" } })).default
      : JSON.parse(await readFile(toPath(schemaPath), "utf8"))) as AnySchemaObject;
  const ajv = new Ajv({ allErrors: true, strictTypes: false });
  addFormatsPlugin(ajv);
  const check = ajv.compile(schema);
  return {
    validate: (event) => {
      const issues = [...run(check, event, "")];
      if (isObject(event)) {
        for (const name of Object.keys(event)) {
          if (name !== "data_base64" && !/^[a-z0-9]+$/.test(name)) {
            issues.push({ path: `/${escape(name)}`, message: "attribute names must be [a-z0-9]+" });
          }
        }
        if ("data" in event && "data_base64" in event) {
          issues.push({ path: "/data_base64", message: "must not be present together with data" });
        }
      }
      return dedupe(issues);
    },
  };
}

/** Registers every schema with one Ajv instance and compiles references on first use. */
function schemaStore(loaded: ReadonlyArray<Loaded>): Omit<FacetContext, "keyMap"> {
  const ajv = new Ajv2020({ allErrors: true, strictTypes: false, strictTuples: false });
  // Annotations the official schemas use beside the standard ones.
  ajv.addKeyword("example").addKeyword("documentation");
  addFormatsPlugin(ajv);
  const byId = new Map<string, Json>(loaded.map((l) => [l.schema.$id, l.schema]));
  for (const schema of byId.values()) ajv.addSchema(schema);
  addRelativeFacetAliases(ajv, byId);
  const compiled = new Map<string, ValidateFunction>();
  const compile = (ref: string): ValidateFunction => {
    let validate = compiled.get(ref);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: ref });
      compiled.set(ref, validate);
    }
    return validate;
  };
  return { byId, compile };
}

interface FacetContext {
  readonly byId: ReadonlyMap<string, Json>;
  readonly compile: (ref: string) => ValidateFunction;
  readonly keyMap: ReadonlyMap<string, ReadonlyArray<string>>;
}

function facetIssues(
  ctx: FacetContext,
  position: FacetPosition,
  key: string,
  facet: Json,
  path: string,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const field of ["_producer", "_schemaURL"]) {
    if (!(field in facet)) {
      issues.push({ path: `${path}/${field}`, message: `must have required property '${field}'` });
    }
  }
  // A deletion marker carries no payload, so the facet's own schema does not apply.
  if (facet._deleted === true) return issues;
  const refs = ctx.keyMap.get(`${position}/${key}`) ?? [];
  const byKey = refs.map((ref) => run(ctx.compile(ref), facet, path));
  if (byKey.length > 0 && byKey.every((found) => found.length > 0)) issues.push(...byKey[0]);
  if (typeof facet._schemaURL === "string") {
    issues.push(...bySchemaUrl(ctx, facet._schemaURL, key, facet, path));
  }
  return issues;
}

/**
 * A `_schemaURL` with a fragment names the facet's own schema; one without names a facet file,
 * whose shape is `{ [key]: facet }` (or a core schema, which says nothing about one facet). Unknown files and dangling fragments are not checked: the
 * spec makes `_schemaURL` informative, and producers point it at unpublished places.
 */
function bySchemaUrl(
  ctx: FacetContext,
  url: string,
  key: string,
  facet: Json,
  path: string,
): ValidationIssue[] {
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? "" : url.slice(hash + 1);
  const schema = ctx.byId.get(base);
  if (schema === undefined) return [];
  if (fragment === "") {
    // A core schema describes events, not a facet map, so naming it whole says nothing.
    if (!isObject(schema.properties)) return [];
    const prefix = `/${escape(key)}`;
    return run(ctx.compile(base), { [key]: facet }, "").map((issue) => ({
      path: path + issue.path.slice(prefix.length),
      message: issue.message,
    }));
  }
  return resolvesIn(schema, fragment) ? run(ctx.compile(url), facet, path) : [];
}

interface FacetSite {
  readonly path: string;
  readonly position: FacetPosition;
  readonly facets: Json;
}

/** Every facet map of an event, including those forwarded inside a parent facet. */
function facetSites(event: unknown): FacetSite[] {
  if (!isObject(event)) return [];
  const sites: FacetSite[] = [];
  const add = (container: unknown, field: string, path: string, position: FacetPosition) => {
    if (isObject(container) && isObject(container[field])) {
      sites.push({ path: `${path}/${field}`, position, facets: container[field] as Json });
    }
  };
  add(event.run, "facets", "/run", "run");
  add(event.job, "facets", "/job", "job");
  add(event.dataset, "facets", "/dataset", "dataset");
  for (const side of ["inputs", "outputs"] as const) {
    const datasets = Array.isArray(event[side]) ? event[side] as unknown[] : [];
    datasets.forEach((dataset, i) => {
      add(dataset, "facets", `/${side}/${i}`, "dataset");
      if (side === "inputs") add(dataset, "inputFacets", `/${side}/${i}`, "inputDataset");
      else add(dataset, "outputFacets", `/${side}/${i}`, "outputDataset");
    });
  }
  const parent = isObject(event.run) && isObject(event.run.facets)
    ? (event.run.facets as Json).parent
    : undefined;
  if (isObject(parent)) {
    const at = "/run/facets/parent";
    add(parent.run, "facets", `${at}/run`, "run");
    add(parent.job, "facets", `${at}/job`, "job");
    if (isObject(parent.root)) {
      add(parent.root.run, "facets", `${at}/root/run`, "run");
      add(parent.root.job, "facets", `${at}/root/job`, "job");
    }
  }
  return sites;
}

function marquezIssues(event: unknown): ValidationIssue[] {
  if (!isObject(event)) return [];
  const issues: ValidationIssue[] = [];
  if (
    "run" in event && typeof event.schemaURL === "string" && !event.schemaURL.endsWith("/RunEvent")
  ) {
    issues.push({ path: "/schemaURL", message: 'must end in "/RunEvent" for a run event' });
  }
  const jobFacets = isObject(event.job) ? event.job.facets : undefined;
  if (isObject(jobFacets) && isObject(jobFacets.jobType) && !("jobType" in jobFacets.jobType)) {
    issues.push({
      path: "/job/facets/jobType/jobType",
      message: "must have required property 'jobType'",
    });
  }
  const named: Array<[unknown, string]> = [[event.job, "/job"], [event.dataset, "/dataset"]];
  for (const side of ["inputs", "outputs"] as const) {
    if (Array.isArray(event[side])) {
      (event[side] as unknown[]).forEach((d, i) => named.push([d, `/${side}/${i}`]));
    }
  }
  for (const [entity, path] of named) {
    if (!isObject(entity)) continue;
    if (typeof entity.namespace === "string" && !MARQUEZ_NAMESPACE.test(entity.namespace)) {
      issues.push({
        path: `${path}/namespace`,
        message: `must match pattern "${MARQUEZ_NAMESPACE.source}"`,
      });
    }
    if (typeof entity.name === "string" && /[:#]/.test(entity.name)) {
      issues.push({ path: `${path}/name`, message: "must not contain ':' or '#'" });
    }
  }
  return issues;
}

/** Maps `position/key` to the schema references of the newest version of each facet file. */
function facetKeyMap(loaded: ReadonlyArray<Loaded>): Map<string, string[]> {
  const newest = new Map<string, { version: number[]; schema: Loaded["schema"] }>();
  for (const { schema } of loaded) {
    if (!isObject(schema.properties) || !isObject(schema.$defs)) continue;
    const match = VERSIONED_ID.exec(schema.$id) ?? PACKAGE_VERSIONED_ID.exec(schema.$id);
    const name = match?.[4] ?? schema.$id;
    const version = match ? match.slice(1, 4).map(Number) : [0, 0, 0];
    const seen = newest.get(name);
    if (seen === undefined || compareVersions(version, seen.version) > 0) {
      newest.set(name, { version, schema });
    }
  }
  const map = new Map<string, string[]>();
  for (const { schema } of newest.values()) {
    for (const [key, property] of Object.entries(schema.properties as Json)) {
      for (const [defName, position] of facetDefs(schema, property, new Set())) {
        const entry = `${position}/${key}`;
        map.set(entry, [...(map.get(entry) ?? []), `${schema.$id}#/$defs/${defName}`]);
      }
    }
  }
  return map;
}

/** The `$defs` a facet property resolves to, each with the base facet it extends. */
function facetDefs(schema: Json, node: unknown, seen: Set<string>): Array<[string, FacetPosition]> {
  if (!isObject(node)) return [];
  const local = typeof node.$ref === "string" ? /^#\/\$defs\/(\w+)$/.exec(node.$ref) : null;
  if (local !== null) {
    const name = local[1];
    const def = (schema.$defs as Json)[name];
    if (seen.has(name) || !isObject(def)) return [];
    seen.add(name);
    const bases = (Array.isArray(def.allOf) ? def.allOf : [])
      .map((part) => isObject(part) && typeof part.$ref === "string" && BASE_REF.exec(part.$ref))
      .flatMap((m) => (m && BASES[m[1]] ? [BASES[m[1]]] : []));
    if (bases.length > 0) return [[name, bases[0]]];
    return facetDefs(schema, def, seen);
  }
  const branches = [node.anyOf, node.oneOf].flatMap((b) => (Array.isArray(b) ? b : []));
  return branches.flatMap((branch) => facetDefs(schema, branch, seen));
}

function coreRef(event: unknown, byId: ReadonlyMap<string, Json>, fallback: string): string {
  const url = isObject(event) && typeof event.schemaURL === "string" ? event.schemaURL : "";
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  const id = CORE_ID.test(base) && byId.has(base) ? base : fallback;
  const name = hash < 0 ? undefined : url.slice(hash + 1).split("/").pop();
  const core = byId.get(id) as Json;
  for (const container of ["$defs", "definitions"]) {
    const defs = core[container];
    if (name && isObject(defs) && isObject(defs[name])) return `${id}#/${container}/${name}`;
  }
  return id;
}

function currentCoreId(loaded: ReadonlyArray<Loaded>, specDir: string): string {
  const cores = loaded.filter((l) => CORE_ID.test(l.schema.$id));
  const current = cores.find((l) => relative(specDir, l.file) === join("spec", "OpenLineage.json"));
  if (current) return current.schema.$id;
  const version = (l: Loaded) => CORE_ID.exec(l.schema.$id)!.slice(1, 4).map(Number);
  const newest = cores.sort((a, b) => compareVersions(version(b), version(a)))[0];
  if (newest === undefined) throw new Error(`no OpenLineage core schema below ${specDir}`);
  return newest.schema.$id;
}

/**
 * Cores 1-0-4 to 2-0-1 refer to `facets/X.json` relative to their own `$id`, a place that was
 * never published. Those references only sit beside the generic facet in an `anyOf`, and facets
 * are checked by key and `_schemaURL` anyway, so they resolve to an empty schema.
 */
function addRelativeFacetAliases(ajv: InstanceType<typeof Ajv2020>, byId: Map<string, Json>) {
  for (const [id, schema] of [...byId]) {
    if (!CORE_ID.test(id)) continue;
    for (const ref of JSON.stringify(schema).matchAll(/"\$ref":"(facets\/[^"#]+)"/g)) {
      const target = new URL(ref[1], id).href;
      if (!byId.has(target)) {
        const alias = { $id: target };
        byId.set(target, alias);
        ajv.addSchema(alias);
      }
    }
  }
}

/**
 * The schemas shipped in `testing/schemas/openlineage.json` (rebuilt by
 * `testing/schemas/bundle_schemas.ts`): imported as a module, so they load the same from a
 * checkout and from the published package.
 */
async function shippedSchemas(): Promise<
  { readonly schemas: Loaded[]; readonly ids: ReadonlySet<string>; readonly current: string }
> {
  const bundle = (await import("./schemas/openlineage.json", { with: { type: "json" } }))
    .default as { current: string; schemas: Array<Loaded["schema"]> };
  const schemas = bundle.schemas.map((schema) => ({ file: schema.$id, schema }));
  return { schemas, ids: new Set(bundle.schemas.map((s) => s.$id)), current: bundle.current };
}

async function loadSchemas(dirs: ReadonlyArray<string>): Promise<Loaded[]> {
  const loaded: Loaded[] = [];
  const ids = new Set<string>();
  for (const dir of dirs) {
    const files = (await readdir(dir, { recursive: true }))
      .filter((f) => f.endsWith(".json"))
      .sort();
    for (const name of files) {
      const file = join(dir, name);
      const schema: unknown = JSON.parse(await readFile(file, "utf8"));
      // Instances and registries sit beside the schemas; only schemas carry an `$id`.
      if (!isObject(schema) || typeof schema.$id !== "string" || ids.has(schema.$id)) continue;
      ids.add(schema.$id);
      loaded.push({ file, schema: schema as Loaded["schema"] });
    }
  }
  return loaded;
}

function run(validate: ValidateFunction, data: unknown, prefix: string): ValidationIssue[] {
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const concrete = errors.filter((e) => !COMBINATORS.has(e.keyword));
  return errors
    .filter((e) =>
      !COMBINATORS.has(e.keyword) ||
      !concrete.some((c) => c.instancePath.startsWith(e.instancePath))
    )
    .map((e) => ({ path: prefix + pathOf(e), message: e.message ?? e.keyword }));
}

/** Points at the missing or extra property itself rather than its parent. */
function pathOf(error: ErrorObject): string {
  const params = error.params as Json;
  if (error.keyword === "required") {
    return `${error.instancePath}/${escape(String(params.missingProperty))}`;
  }
  if (error.keyword === "additionalProperties") {
    return `${error.instancePath}/${escape(String(params.additionalProperty))}`;
  }
  return error.instancePath;
}

function resolvesIn(schema: Json, fragment: string): boolean {
  let node: unknown = schema;
  for (const raw of fragment.split("/").slice(1)) {
    const segment = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (!isObject(node) || !(segment in node)) return false;
    node = node[segment];
  }
  return fragment.startsWith("/") && isObject(node);
}

function dedupe(issues: ReadonlyArray<ValidationIssue>): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const id = `${issue.path}\n${issue.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function compareVersions(a: ReadonlyArray<number>, b: ReadonlyArray<number>): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function escape(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toPath(dir: string | URL): string {
  return dir instanceof URL ? fileURLToPath(dir) : dir;
}
