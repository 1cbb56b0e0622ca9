import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as lineage } from "../../cli/lineage.ts";
import { main as configCommand } from "../../cli/lineage_config.ts";
import { runCli, tempDir } from "../_harness.ts";

const KEY = "sk-print-7f3a";

// Test files share the process: the environment and directory are given, never changed.
let cwd: string;
beforeEach(async () => {
  cwd = await tempDir();
});
afterEach(async () => {
  await Deno.remove(cwd, { recursive: true });
});

const withEnv = (vars: Record<string, string>) => ({
  env: { get: (k: string) => vars[k], toObject: () => ({ ...vars }) },
  cwd,
  home: cwd,
});

describe("deno task lineage --print-config", () => {
  it("is the config command, reached from either spelling", async () => {
    for (
      const args of [["--print-config", "--lineage", "/tmp/x"], [
        "config",
        "--print-config",
        "--lineage",
        "/tmp/x",
      ], ["config", "--lineage", "/tmp/x"]]
    ) {
      const out = await runCli(lineage, args);
      expect([out.code, out.stdout]).toEqual([
        0,
        expect.stringMatching(/--lineage += \/tmp\/x {2}\(--lineage\)/),
      ]);
    }
  });

  it("prints every value with where it came from, secrets masked, then what takes effect", async () => {
    await Deno.writeTextFile(
      resolve(cwd, "openlineage.yml"),
      `transport:\n  type: http\n  url: http://marquez:5000\n  auth:\n    type: api_key\n    apiKey: ${KEY}\n`,
    );
    const env = withEnv({
      OPENLINEAGE__TRANSPORT__COMPRESSION: "gzip",
      OPENLINEAGE_URL: "http://legacy:5000",
    });
    const out = await runCli((args) => configCommand(args, env), ["--print-config"]);
    expect([out.code, out.stderr]).toEqual([0, ""]);
    expect(out.stdout).not.toContain(KEY);
    const lines = out.stdout.split("\n").map((l) => l.trim().replace(/ +/g, " "));
    expect(lines).toEqual(expect.arrayContaining([
      "settings:",
      "namespace = lineage-kit (default)",
      "config file = openlineage.yml (default)",
      "transport.type = http (openlineage.yml:2:3)",
      "transport.url = http://marquez:5000 (openlineage.yml:3:3)",
      "transport.auth.type = api_key (openlineage.yml:5:5)",
      "transport.auth.apiKey = <redacted> (openlineage.yml:6:5)",
      "transport.compression = gzip (OPENLINEAGE__TRANSPORT__COMPRESSION)",
      "in effect:",
      "transports from openlineage.yml:",
      "http http://marquez:5000/api/v1/lineage (api key <redacted>, gzip)",
    ]));
    expect(lines.at(-1)).toMatch(/^note: OPENLINEAGE_URL is not used: openlineage\.yml:2:3/);
    const json = await runCli((args) => configCommand(args, env), ["--json"]);
    expect(JSON.parse(json.stdout).origin).toBe("openlineage.yml");
  });

  it("marks the configured transport as not used under --lineage, and reports problems with exit 2", async () => {
    await Deno.writeTextFile(resolve(cwd, "openlineage.yml"), "transport:\n  type: console\n");
    const flagged = await runCli(
      (args) => configCommand(args, withEnv({})),
      ["--print-config", "--lineage", "out"],
    );
    expect(flagged.stdout).toMatch(
      /transport\.type += console +\(openlineage\.yml:2:3\) not used: --lineage wins/,
    );
    await Deno.writeTextFile(resolve(cwd, "openlineage.yml"), "transport:\n  type: htp\n");
    const bad = await runCli((args) => configCommand(args, withEnv({})), []);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      'openlineage.yml:2:3: unknown transport type "htp" (allowed: http, console, file, kafka, ' +
      "composite, noop)",
    ]);
  });
});
