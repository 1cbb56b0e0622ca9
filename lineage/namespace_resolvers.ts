/**
 * Dataset namespace resolvers, as the Java client's `dataset.namespaceResolvers` configures them:
 * one logical name for data reachable through several hosts (a Kafka cluster by any of its
 * brokers, a database behind changing addresses), so lineage joins it whichever host a run used.
 *
 * - `hostList`: a namespace containing one of `hosts` (case-insensitively) has it replaced by the
 *   resolver's name;
 * - `pattern`: every match of `regex` is replaced by the resolver's name;
 * - `patternGroup`: every match of `regex` is replaced by its named group `matchingGroup`.
 *
 * A resolver with a `schema` applies only to namespaces starting `schema://`. Resolvers are tried
 * in the order they are configured; the first that changes a namespace decides it.
 *
 * @example
 * ```ts
 * import { resolveNamespace } from "./namespace_resolvers.ts";
 *
 * const resolvers = [{
 *   type: "hostList" as const,
 *   name: "kafka-prod",
 *   hosts: ["broker-1.internal", "broker-2.internal"],
 *   schema: "kafka",
 * }];
 * console.log(resolveNamespace(resolvers, "kafka://broker-2.internal:9092")); // kafka://kafka-prod:9092
 * ```
 *
 * @module
 */

/**
 * One configured resolver; `name` is the logical name it resolves to (its key in the file).
 *
 * @category models
 */
export type NamespaceResolver =
  | {
    readonly type: "hostList";
    readonly name: string;
    readonly hosts: ReadonlyArray<string>;
    readonly schema?: string;
  }
  | {
    readonly type: "pattern";
    readonly name: string;
    readonly regex: string;
    readonly schema?: string;
  }
  | {
    readonly type: "patternGroup";
    readonly name: string;
    readonly regex: string;
    readonly matchingGroup: string;
    readonly schema?: string;
  };

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const resolveOne = (r: NamespaceResolver, namespace: string): string => {
  if (r.schema && !namespace.startsWith(`${r.schema}://`)) return namespace;
  switch (r.type) {
    case "hostList": {
      const host = r.hosts.find((h) => namespace.toLowerCase().includes(h.toLowerCase()));
      return host === undefined
        ? namespace
        : namespace.replace(new RegExp(escape(host), "gi"), () => r.name);
    }
    case "pattern": {
      const re = new RegExp(r.regex, "g");
      return re.test(namespace)
        ? namespace.replace(new RegExp(r.regex, "g"), () => r.name)
        : namespace;
    }
    case "patternGroup": {
      const match = new RegExp(r.regex).exec(namespace);
      const group = match?.groups?.[r.matchingGroup];
      return group === undefined
        ? namespace
        : namespace.replace(new RegExp(r.regex, "g"), () => group);
    }
  }
};

/**
 * The namespace after the first resolver that changes it (unchanged when none does).
 *
 * @category constructors
 */
export const resolveNamespace = (
  resolvers: ReadonlyArray<NamespaceResolver>,
  namespace: string,
): string => {
  for (const r of resolvers) {
    const resolved = resolveOne(r, namespace);
    if (resolved !== namespace) return resolved;
  }
  return namespace;
};
