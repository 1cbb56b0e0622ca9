/**
 * The git coordinates of a file (repository URL, commit, branch, tag), read from the `.git`
 * folder around it without running git: the `sourceCodeLocation` job facet names the revision a
 * pipeline file was run at. Linked worktrees (a `.git` file pointing elsewhere) and packed refs
 * are followed; credentials in a remote URL are dropped. Each repository is read once per process
 * (the revision does not change under a running process in any way lineage should follow).
 *
 * @module
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

/**
 * Where a file is under version control.
 *
 * @category models
 */
export interface GitSource {
  /** The `origin` remote's URL, without credentials. */
  readonly repoUrl?: string;
  /** The commit `HEAD` points at. */
  readonly version?: string;
  /** The checked-out branch; absent on a detached `HEAD`. */
  readonly branch?: string;
  /** A tag pointing at the commit. */
  readonly tag?: string;
  /** The file's path inside the repository, with `/` separators. */
  readonly path?: string;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/** The work tree and git folders above `start`, following a linked worktree's `gitdir:`. */
const findRepository = (start: string) => {
  for (let dir = start;; dir = dirname(dir)) {
    const dotGit = join(dir, ".git");
    if (isFile(dotGit)) {
      const pointer = /^gitdir:\s*(.+)$/m.exec(read(dotGit) ?? "")?.[1].trim();
      if (pointer === undefined) return undefined;
      const gitDir = isAbsolute(pointer) ? pointer : resolve(dir, pointer);
      const common = read(join(gitDir, "commondir"))?.trim();
      return {
        workTree: dir,
        gitDir,
        commonDir: common === undefined ? gitDir : resolve(gitDir, common),
      };
    }
    if (existsSync(dotGit)) return { workTree: dir, gitDir: dotGit, commonDir: dotGit };
    if (dirname(dir) === dir) return undefined;
  }
};

const packedRefs = (commonDir: string): Array<{ sha: string; ref: string; peeled?: string }> => {
  const out: Array<{ sha: string; ref: string; peeled?: string }> = [];
  for (const line of (read(join(commonDir, "packed-refs")) ?? "").split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    if (line.startsWith("^")) {
      const last = out.at(-1);
      if (last) last.peeled = line.slice(1).trim();
      continue;
    }
    const [sha, ref] = line.trim().split(" ");
    if (sha && ref) out.push({ sha, ref });
  }
  return out;
};

const resolveRef = (gitDir: string, commonDir: string, ref: string): string | undefined =>
  read(join(gitDir, ref))?.trim() ?? read(join(commonDir, ref))?.trim() ??
    packedRefs(commonDir).find((p) => p.ref === ref)?.sha;

const tagOf = (commonDir: string, sha: string): string | undefined => {
  const packed = packedRefs(commonDir).find((p) =>
    p.ref.startsWith("refs/tags/") && (p.peeled ?? p.sha) === sha
  );
  if (packed) return packed.ref.slice("refs/tags/".length);
  const dir = join(commonDir, "refs", "tags");
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isFile && read(join(dir, entry.name))?.trim() === sha) return entry.name;
    }
  } catch {
    // No loose tags.
  }
  return undefined;
};

/**
 * The `origin` URL of a git config, with any user and password removed.
 *
 * @category constructors
 */
export const originUrl = (config: string): string | undefined => {
  const section = /\[remote\s+"origin"\]([^[]*)/.exec(config)?.[1];
  const url = section === undefined ? undefined : /^\s*url\s*=\s*(.+)$/m.exec(section)?.[1].trim();
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    if (u.protocol === "http:" || u.protocol === "https:" || u.protocol === "ssh:") {
      u.username = u.protocol === "ssh:" ? u.username : "";
      u.password = "";
      return u.href;
    }
  } catch {
    // scp-like `git@host:org/repo.git`: no password can be in it.
  }
  return url;
};

const cache = new Map<string, GitSource | undefined>();
// Every event of a pipeline names its file: its coordinates are looked up once per file, not
// once per event (finding the repository reads the file system up to its root).
const byFile = new Map<string, GitSource | undefined>();

/**
 * The git coordinates of `file`, or undefined when it is not in a git work tree.
 *
 * @category constructors
 */
export const gitSourceOf = (file: string): GitSource | undefined => {
  const path = resolve(file);
  if (!byFile.has(path)) byFile.set(path, lookUp(path));
  return byFile.get(path);
};

const lookUp = (file: string): GitSource | undefined => {
  const repo = findRepository(dirname(file));
  if (repo === undefined) return undefined;
  let found = cache.get(repo.gitDir);
  if (!cache.has(repo.gitDir)) {
    const head = read(join(repo.gitDir, "HEAD"))?.trim();
    const symbolic = head?.startsWith("ref: ") ? head.slice(5).trim() : undefined;
    const version = symbolic === undefined
      ? head
      : resolveRef(repo.gitDir, repo.commonDir, symbolic);
    const repoUrl = originUrl(read(join(repo.commonDir, "config")) ?? "");
    const tag = version === undefined ? undefined : tagOf(repo.commonDir, version);
    found = {
      ...(repoUrl ? { repoUrl } : {}),
      ...(version && /^[0-9a-f]{40,64}$/.test(version) ? { version } : {}),
      ...(symbolic?.startsWith("refs/heads/")
        ? { branch: symbolic.slice("refs/heads/".length) }
        : {}),
      ...(tag ? { tag } : {}),
    };
    cache.set(repo.gitDir, found);
  }
  return found && { ...found, path: relative(repo.workTree, file).replaceAll("\\", "/") };
};
