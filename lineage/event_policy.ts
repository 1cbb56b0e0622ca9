/**
 * What the configuration changes in every OpenLineage event a sink receives, applied as the relay
 * hands events over (the outbox keeps them as the run wrote them), in the official clients' order:
 *
 * 1. `environmentVariables`: the configured variables join the run's facet (an event's own value
 *    of a variable wins);
 * 2. `tags`: configured job and run tags join the `tags` facets, a configured key replacing the
 *    event's tag of the same key (case-insensitively, keeping the event's spelling);
 * 3. owners (`job.owners`) join the `ownership` facet;
 * 4. `sourceCodeLocation` takes the configured git coordinates, or loses them when switched off;
 * 5. dataset namespaces (and symlinks, data sources and column-lineage inputs) go through the
 *    namespace resolvers;
 * 6. disabled facets are removed wherever they occur.
 *
 * @module
 */
import type { OutboxRow } from "./outbox.ts";
import * as Facets from "./facets.ts";
import { type NamespaceResolver, resolveNamespace } from "./namespace_resolvers.ts";
import type { ConfigTag, SourceCodeSettings } from "./_config_facets.ts";

export type { ConfigTag, SourceCodeSettings } from "./_config_facets.ts";
import { type RelaySink, settleWith } from "./settlement.ts";

/**
 * The configuration an event policy applies.
 *
 * @category models
 */
export interface EventPolicy {
  /** Facet keys to remove. */
  readonly disabled: ReadonlyArray<string>;
  /** Variables to record (those without a value are left out). */
  readonly environmentVariables: ReadonlyArray<{ readonly name: string; readonly value?: string }>;
  /** Job and run tags to add. */
  readonly tags: { readonly job: ReadonlyArray<ConfigTag>; readonly run: ReadonlyArray<ConfigTag> };
  /** Owners to add to every job. */
  readonly owners: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /** Git coordinates for `sourceCodeLocation`; false removes them. */
  readonly sourceCodeLocation?: SourceCodeSettings | false;
  /** Dataset namespace resolvers, in order. */
  readonly namespaceResolvers: ReadonlyArray<NamespaceResolver>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Whether the policy changes anything at all.
 *
 * @category constructors
 */
export const isIdentityPolicy = (p: EventPolicy): boolean =>
  p.disabled.length === 0 && p.environmentVariables.every((v) => v.value === undefined) &&
  p.tags.job.length === 0 && p.tags.run.length === 0 && p.owners.length === 0 &&
  p.sourceCodeLocation === undefined && p.namespaceResolvers.length === 0;

const withEnvironment = (facets: Json, p: EventPolicy): Json => {
  const configured = p.environmentVariables.flatMap((v) =>
    v.value === undefined ? [] : [{ name: v.name, value: v.value }]
  );
  if (configured.length === 0) return facets;
  const own = isObject(facets.environmentVariables) &&
      Array.isArray(facets.environmentVariables.environmentVariables)
    ? facets.environmentVariables.environmentVariables as Array<{ name: string; value: string }>
    : [];
  const added = configured.filter((c) => !own.some((o) => o.name === c.name));
  return { ...facets, environmentVariables: Facets.environmentVariables([...own, ...added]) };
};

/** The official client's tag merge: a configured key replaces the event's, keeping its spelling. */
const mergeTags = (
  own: ReadonlyArray<{ key: string; value: string; source?: string }>,
  configured: ReadonlyArray<ConfigTag>,
) => {
  const keys = new Set(configured.map((t) => t.key.toLowerCase()));
  const spelling = new Map(own.map((t) => [t.key.toLowerCase(), t.key]));
  const kept = own.filter((t) => !keys.has(t.key.toLowerCase()));
  // Later configured tags of the same key win (Python's tags after Java's).
  const last = new Map(configured.map((t) => [t.key.toLowerCase(), t]));
  return [
    ...kept,
    ...[...last.values()].map((t) => ({ ...t, key: spelling.get(t.key.toLowerCase()) ?? t.key })),
  ];
};

const tagsOf = (facets: Json) =>
  isObject(facets.tags) && Array.isArray(facets.tags.tags)
    ? facets.tags.tags as Array<{ key: string; value: string; source?: string }>
    : [];

const withJobAdditions = (facets: Json, p: EventPolicy): Json => {
  let out = facets;
  if (p.tags.job.length > 0) {
    out = { ...out, tags: Facets.jobTags(mergeTags(tagsOf(out), p.tags.job)) };
  }
  if (p.owners.length > 0) {
    const own = isObject(out.ownership) && Array.isArray(out.ownership.owners)
      ? out.ownership.owners as Array<{ name: string; type?: string }>
      : [];
    const added = p.owners.filter((o) => !own.some((x) => x.name === o.name && x.type === o.type));
    out = { ...out, ownership: Facets.ownership([...own, ...added]) };
  }
  const scl = out.sourceCodeLocation;
  if (p.sourceCodeLocation !== undefined && isObject(scl)) {
    const { repoUrl: _r, version: _v, branch: _b, tag: _t, pullRequestNumber: _p, ...rest } = scl;
    out = {
      ...out,
      sourceCodeLocation: p.sourceCodeLocation === false
        ? { ...rest, type: "file", path: pathOf(scl) }
        : { ...scl, ...p.sourceCodeLocation, type: "git" },
    };
  }
  return out;
};

// Without git coordinates the path is the file's own, as the `url` names it.
const pathOf = (scl: Json): unknown =>
  typeof scl.url === "string" && scl.url.startsWith("file:")
    ? decodeURIComponent(new URL(scl.url).pathname)
    : scl.path;

const resolveDataset = (d: unknown, resolvers: ReadonlyArray<NamespaceResolver>): unknown => {
  if (!isObject(d) || typeof d.namespace !== "string") return d;
  const namespace = resolveNamespace(resolvers, d.namespace);
  const facets = isObject(d.facets) ? { ...d.facets } : undefined;
  if (facets && isObject(facets.dataSource) && facets.dataSource.name === d.namespace) {
    facets.dataSource = Facets.dataSource(namespace);
  }
  if (facets && isObject(facets.symlinks) && Array.isArray(facets.symlinks.identifiers)) {
    facets.symlinks = Facets.symlinks(
      (facets.symlinks.identifiers as Array<{ namespace: string; name: string; type: string }>)
        .map((i) => ({ ...i, namespace: resolveNamespace(resolvers, i.namespace) })),
    );
  }
  if (facets && isObject(facets.columnLineage) && isObject(facets.columnLineage.fields)) {
    const fields = Object.fromEntries(
      Object.entries(facets.columnLineage.fields).map(([k, f]) => [
        k,
        isObject(f) && Array.isArray(f.inputFields)
          ? {
            ...f,
            inputFields: (f.inputFields as Json[]).map((i) =>
              typeof i.namespace === "string"
                ? { ...i, namespace: resolveNamespace(resolvers, i.namespace) }
                : i
            ),
          }
          : f,
      ]),
    );
    facets.columnLineage = { ...facets.columnLineage, fields };
  }
  return { ...d, namespace, ...(facets ? { facets } : {}) };
};

const withoutKeys = (facets: unknown, disabled: ReadonlySet<string>): unknown =>
  isObject(facets)
    ? Object.fromEntries(Object.entries(facets).filter(([k]) => !disabled.has(k)))
    : facets;

const stripDataset = (d: unknown, disabled: ReadonlySet<string>): unknown => {
  if (!isObject(d)) return d;
  const out: Json = { ...d };
  for (const field of ["facets", "inputFacets", "outputFacets"]) {
    if (field in out) out[field] = withoutKeys(out[field], disabled);
  }
  return out;
};

/**
 * The policy as a function of an event's payload.
 *
 * @category combinators
 */
export const applyEventPolicy = (p: EventPolicy): (payload: Json) => Json => {
  const disabled = new Set(p.disabled);
  return (payload) => {
    const event: Json = { ...payload };
    if (isObject(event.run)) {
      let facets = isObject(event.run.facets) ? event.run.facets : {};
      facets = withEnvironment(facets, p);
      if (p.tags.run.length > 0) {
        facets = { ...facets, tags: Facets.runTags(mergeTags(tagsOf(facets), p.tags.run)) };
      }
      event.run = { ...event.run, facets: withoutKeys(facets, disabled) };
    }
    if (isObject(event.job)) {
      const facets = isObject(event.job.facets) ? event.job.facets : {};
      event.job = { ...event.job, facets: withoutKeys(withJobAdditions(facets, p), disabled) };
    }
    for (const side of ["inputs", "outputs"] as const) {
      if (!Array.isArray(event[side])) continue;
      event[side] = (event[side] as unknown[]).map((d) =>
        stripDataset(resolveDataset(d, p.namespaceResolvers), disabled)
      );
    }
    return event;
  };
};

/**
 * The sink with the policy applied to the OpenLineage events it is handed.
 *
 * @category combinators
 */
export const withEventPolicy = (sink: RelaySink, policy: EventPolicy): RelaySink => {
  if (isIdentityPolicy(policy)) return sink;
  const apply = applyEventPolicy(policy);
  const mapped = (events: ReadonlyArray<OutboxRow>): ReadonlyArray<OutboxRow> =>
    events.map((e) => e.channel === "openlineage" ? { ...e, payload: apply(e.payload) } : e);
  const settle = settleWith(sink);
  return {
    ...sink,
    deliver: (events) => sink.deliver(mapped(events)),
    settle: (events) => settle(mapped(events)),
  };
};
