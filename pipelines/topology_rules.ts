/**
 * The semantic checks of a pipeline file: duplicate stage names, unknown or repeated
 * dependencies, cycles, unknown policies, gate resume stages and the upstream stage types each
 * stage type requires. They read stages leniently from the raw YAML, so every problem is found
 * at once, even next to schema errors.
 *
 * @module
 */
import { type StageType, typesProvidedBy } from "../stages/contracts.ts";
import type { StageRegistry } from "../stages/stage_registry.ts";
import { effectiveStageConfig, type StageConfigLayers } from "./stage_settings.ts";
import type { Policy } from "../policies/policy.ts";
import { ancestors, descendants, type Edge, findCycles } from "./dag.ts";
import type { PathMessage } from "../policies/problem.ts";
import type { IssueContext } from "../policies/yaml_document.ts";

/**
 * What the graph checks need from a stage, read leniently from the raw YAML so that a stage
 * with a bad key still takes part and unrelated problems are not hidden behind it.
 */
export interface Outline {
  readonly index: number;
  readonly label: string;
  readonly name?: string;
  /** The registered type the stage's `type` names; absent when it names none. */
  readonly type?: StageType;
  /** The `type` as written, when it is a string. */
  readonly writtenType?: string;
  /** The implementation `config.impl` names, when written. */
  readonly impl?: string;
  readonly policy?: string;
  readonly dependsOn: ReadonlyArray<string>;
  readonly resumeStage?: string;
  /** Its name and `depends_on` could be read, so its edges are known. */
  readonly complete: boolean;
}

/** Whether a value is a plain object (not null, not an array). */
export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** A name quoted as JSON, for messages. */
export const quote = (s: string): string => JSON.stringify(s);

const list = (names: ReadonlyArray<string>): string =>
  names.length === 0 ? "none" : names.join(", ");

/** The raw `stages` list of a parsed pipeline document, or an empty list when it has none. */
export const rawStages = (value: unknown): ReadonlyArray<unknown> =>
  isRecord(value) && Array.isArray(value.stages) ? value.stages : [];

/**
 * The outline of one raw stage, read leniently: keys of the wrong type are left out. Its type is
 * resolved through the registry (so `IngestStage` is `Ingest`).
 */
export const outlineOf =
  (registry: StageRegistry, layers: StageConfigLayers = {}) =>
  (raw: unknown, index: number): Outline => {
    const stage = isRecord(raw) ? raw : {};
    const str = (key: string): string | undefined =>
      typeof stage[key] === "string" ? stage[key] as string : undefined;
    const deps = stage.depends_on ?? [];
    const dependsOn = Array.isArray(deps) ? deps.filter((d) => typeof d === "string") : [];
    const name = str("name");
    const writtenType = str("type");
    const type = writtenType === undefined ? undefined : registry.canonicalType(writtenType);
    const impl = type === undefined
      ? undefined
      : effectiveStageConfig(type, stage.config, layers, registry.resolve(type)?.implementation)
        .impl;
    return {
      index,
      label: name === undefined ? `stages[${index}]` : `stage ${quote(name)}`,
      ...(name === undefined ? {} : { name }),
      ...(type === undefined ? {} : { type }),
      ...(writtenType === undefined ? {} : { writtenType }),
      ...(impl === undefined ? {} : { impl }),
      ...(str("policy") === undefined ? {} : { policy: str("policy") }),
      dependsOn,
      ...(str("resume_stage") === undefined ? {} : { resumeStage: str("resume_stage") }),
      complete: name !== undefined && Array.isArray(deps) && dependsOn.length === deps.length,
    };
  };

/** How schema issues under `stages[i]` are prefixed: with that stage's label. */
export const stageContext =
  (stages: ReadonlyArray<Outline>) => (path: ReadonlyArray<unknown>): IssueContext =>
    path[0] === "stages" && typeof path[1] === "number"
      ? { prefix: stages[path[1]]?.label ?? `stages[${path[1]}]`, base: 2 }
      : { prefix: "", base: 0 };

const at = (
  stage: Outline,
  ...rest: ReadonlyArray<string | number>
) => ["stages", stage.index, ...rest];

// The first stage of each name; later ones are duplicates and stay out of the graph.
const firstByName = (stages: ReadonlyArray<Outline>): ReadonlyMap<string, Outline> => {
  const first = new Map<string, Outline>();
  for (const s of stages) if (s.name !== undefined && !first.has(s.name)) first.set(s.name, s);
  return first;
};

const inDeclarationOrder = (
  names: ReadonlySet<string>,
  first: ReadonlyMap<string, Outline>,
): ReadonlyArray<string> => [...first.keys()].filter((name) => names.has(name));

const edgesOf = (stages: ReadonlyMap<string, Outline>): ReadonlyArray<Edge> =>
  [...stages.values()].flatMap((s) =>
    s.dependsOn.filter((d) => stages.has(d)).map((from) => ({ from, to: s.name! }))
  );

const duplicateNames = (stages: ReadonlyArray<Outline>, first: ReadonlyMap<string, Outline>) =>
  stages.filter((s) => s.name !== undefined && first.get(s.name) !== s).map((s) => ({
    path: at(s, "name"),
    message: `${s.label}: duplicate stage name (first declared as stages[${
      first.get(s.name!)!.index
    }])`,
  }));

const badDependencies = (stages: ReadonlyArray<Outline>, first: ReadonlyMap<string, Outline>) =>
  stages.flatMap((s) =>
    s.dependsOn.flatMap((dep, k): ReadonlyArray<PathMessage> => {
      const path = at(s, "depends_on", k);
      if (!first.has(dep)) {
        const known = list([...first.keys()]);
        return [{
          path,
          message: `${s.label}: depends_on ${quote(dep)} is not a stage (stages: ${known})`,
        }];
      }
      return s.dependsOn.indexOf(dep) < k
        ? [{ path, message: `${s.label}: depends_on lists ${quote(dep)} twice` }]
        : [];
    })
  );

const cycles = (first: ReadonlyMap<string, Outline>, edges: ReadonlyArray<Edge>) =>
  findCycles([...first.keys()], edges).map((cycle): PathMessage => {
    // Located at the dependency that closes the cycle in its first-declared stage.
    const start = first.get(cycle[0])!;
    const k = start.dependsOn.indexOf(cycle[cycle.length - 2]);
    return { path: at(start, "depends_on", k), message: `cycle: ${cycle.join(" → ")}` };
  });

const unknownPolicies = (stages: ReadonlyArray<Outline>, policies: ReadonlyMap<string, Policy>) =>
  stages.filter((s) => s.policy !== undefined && !policies.has(s.policy)).map((s) => ({
    path: at(s, "policy"),
    message: `${s.label}: unknown policy ${quote(s.policy!)} (known: ${
      list([...policies.keys()])
    })`,
  }));

const gates = (
  stages: ReadonlyArray<Outline>,
  first: ReadonlyMap<string, Outline>,
  edges: ReadonlyArray<Edge> | undefined,
) =>
  stages.flatMap((s): ReadonlyArray<PathMessage> => {
    if (s.type !== "Gate" || s.resumeStage === undefined || s.name === undefined) return [];
    const path = at(s, "resume_stage");
    const resume = quote(s.resumeStage);
    if (!first.has(s.resumeStage)) {
      const known = list([...first.keys()]);
      return [{
        path,
        message: `${s.label}: resume_stage ${resume} is not a stage (stages: ${known})`,
      }];
    }
    if (edges === undefined) return [];
    const downstream = descendants(s.name, edges);
    if (downstream.has(s.resumeStage)) return [];
    const names = list(inDeclarationOrder(downstream, first));
    const message =
      `${s.label}: resume_stage ${resume} is not downstream of the gate (downstream: ${names})`;
    return [{ path, message }];
  });

// The types a stage's output serves as: its own, and those its definition provides (a gate's
// opened document stands in for a parse output).
const providedBy = (registry: StageRegistry, stage: Outline): ReadonlyArray<StageType> => {
  const definition = stage.type === undefined
    ? undefined
    : registry.resolve(stage.type, stage.impl);
  return definition === undefined ? [] : typesProvidedBy(definition);
};

// The registered types whose output serves as `need`, other than `need` itself.
const alternativesFor = (registry: StageRegistry, need: StageType): ReadonlyArray<StageType> =>
  registry.types.filter((t) =>
    t !== need && registry.implementations(t).some((d) => typesProvidedBy(d).includes(need))
  );

const requirements = (
  registry: StageRegistry,
  stages: ReadonlyArray<Outline>,
  first: ReadonlyMap<string, Outline>,
  edges: ReadonlyArray<Edge>,
) =>
  stages.flatMap((s): ReadonlyArray<PathMessage> => {
    if (s.type === undefined || first.get(s.name ?? "") !== s) return [];
    const definition = registry.resolve(s.type, s.impl);
    if (definition === undefined) return [];
    const upstream = inDeclarationOrder(ancestors(s.name!, edges), first);
    const missing = Object.keys(definition.input).filter((need) =>
      !upstream.some((name) => providedBy(registry, first.get(name)!).includes(need))
    );
    return missing.map((need) => ({
      path: at(s, "depends_on"),
      message: `${s.label}: type ${s.type} needs an upstream ${
        [need, ...alternativesFor(registry, need)].join(" or ")
      } stage (upstream: ${list(upstream)})`,
    }));
  });

// A type the registry does not know, or an implementation it has not got for a known type.
const unknownTypes = (registry: StageRegistry, stages: ReadonlyArray<Outline>) =>
  stages.flatMap((s): ReadonlyArray<PathMessage> => {
    if (s.writtenType === undefined) return [];
    if (s.type === undefined) {
      return [{
        path: at(s, "type"),
        message: `${s.label}: unknown stage type ${quote(s.writtenType)} (known: ${
          registry.types.join(", ")
        })`,
      }];
    }
    if (s.impl === undefined || registry.resolve(s.type, s.impl) !== undefined) return [];
    return [{
      path: at(s, "config", "impl"),
      message: `${s.label}: unknown implementation ${quote(s.impl)} of type ${s.type} (known: ${
        registry.implementations(s.type).map((d) => d.implementation).join(", ")
      })`,
    }];
  });

/**
 * Every graph problem of a pipeline's stages: duplicate names, unknown dependencies, cycles, unknown
 * stage types and implementations, unknown policies (checked only when given), gate resume
 * stages, and the upstream outputs each stage's definition reads.
 */
export const graphProblems = (
  registry: StageRegistry,
  stages: ReadonlyArray<Outline>,
  policies: ReadonlyMap<string, Policy> | undefined,
): ReadonlyArray<PathMessage> => {
  const first = firstByName(stages);
  const edges = edgesOf(first);
  const local = [...duplicateNames(stages, first), ...badDependencies(stages, first)];
  // Reachability over a graph with unknown edges or types would report what is not wrong.
  const sound = local.length === 0 && stages.every((s) => s.complete && s.type !== undefined);
  return [
    ...local,
    ...unknownTypes(registry, stages),
    ...cycles(first, edges),
    ...(policies === undefined ? [] : unknownPolicies(stages, policies)),
    ...gates(stages, first, sound ? edges : undefined),
    ...(sound ? requirements(registry, stages, first, edges) : []),
  ];
};
