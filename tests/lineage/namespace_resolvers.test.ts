import { describe, expect, it } from "vitest";
import { type NamespaceResolver, resolveNamespace } from "../../lineage/namespace_resolvers.ts";

describe("resolveNamespace()", () => {
  it("hostList replaces a listed host case-insensitively, only under its schema", () => {
    const r: NamespaceResolver[] = [{
      type: "hostList",
      name: "kafka-prod",
      hosts: ["kafka-prod13.company.com", "kafka-prod15.company.com"],
      schema: "kafka",
    }];
    expect(resolveNamespace(r, "kafka://Kafka-Prod15.company.com:9092")).toBe(
      "kafka://kafka-prod:9092",
    );
    expect(resolveNamespace(r, "postgres://kafka-prod15.company.com:5432")).toBe(
      "postgres://kafka-prod15.company.com:5432",
    );
  });

  it("pattern replaces every match with the resolver's name", () => {
    const r: NamespaceResolver[] = [{
      type: "pattern",
      name: "cassandra-prod",
      regex: "cassandra-prod(\\d)+\\.company\\.com",
      schema: "cassandra",
    }];
    expect(resolveNamespace(r, "cassandra://cassandra-prod7.company.com:9042")).toBe(
      "cassandra://cassandra-prod:9042",
    );
  });

  it("patternGroup replaces the match with its named group; the first resolver that changes it wins", () => {
    const r: NamespaceResolver[] = [
      { type: "pattern", name: "unused", regex: "no-such-host" },
      {
        type: "patternGroup",
        name: "test-pattern",
        regex: "(?<cluster>[a-zA-Z-]+)-(\\d)+\\.company\\.com:[\\d]*",
        matchingGroup: "cluster",
      },
      { type: "pattern", name: "later", regex: "cassandra" },
    ];
    expect(resolveNamespace(r, "cassandra://cassandra-test-7.company.com:9042")).toBe(
      "cassandra://cassandra-test",
    );
  });
});
