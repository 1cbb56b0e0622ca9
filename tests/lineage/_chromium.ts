/**
 * Headless Chromium for the page tests: where it is installed, and a small Chrome DevTools
 * Protocol client (over `--remote-debugging-port`) to evaluate script in a page, click and type
 * like a user, and take screenshots. Tests that need it skip, and say so, when it is absent.
 */
import { dirname, resolve } from "node:path";

/** The Chromium binary: $CHROMIUM, else the usual Debian and Chrome paths; undefined if none. */
export const chromiumPath: string | undefined = [
  Deno.env.get("CHROMIUM"),
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
].find((p) => {
  if (!p) return false;
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** The suffix a skipped test's name carries when Chromium is absent. */
export const noChromium: string = chromiumPath
  ? ""
  : " [SKIPPED: no Chromium (set CHROMIUM or `apt-get install -y chromium`)]";

/**
 * The environment of a headless run: its temporary files (Chromium leaves an empty folder per
 * run there) beside its profile, in the test's own temporary folder.
 */
export const headlessEnv = (profile: string): Record<string, string> => ({
  TMPDIR: dirname(resolve(profile)),
});

/** Flags every headless run uses: no network chatter, no first-run UI, a throwaway profile. */
export const headlessFlags = (profile: string): string[] => [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  `--user-data-dir=${profile}`,
];

interface Pending {
  readonly resolve: (v: Record<string, unknown>) => void;
  readonly reject: (e: Error) => void;
}

/** A page open in headless Chromium, driven over the DevTools protocol. */
export interface BrowserPage {
  /** Exceptions the page's script threw since it started loading, as protocol JSON. */
  readonly errors: ReadonlyArray<string>;
  /** Sends a protocol command to the page and returns its result. */
  readonly send: (
    method: string,
    params?: Record<string, unknown>,
  ) => Promise<Record<string, unknown>>;
  /** Evaluates an expression in the page (awaiting promises) and returns its JSON value. */
  readonly evaluate: <T>(expression: string) => Promise<T>;
  /** Clicks with the mouse at a point of the viewport. */
  readonly click: (x: number, y: number) => Promise<void>;
  /** Presses and releases a key (e.g. "Enter") on the focused element. */
  readonly press: (key: string) => Promise<void>;
  /** Writes a PNG screenshot of the viewport (or of `clip`, scaled) to `path`. */
  readonly screenshot: (
    path: string,
    clip?: { x: number; y: number; width: number; height: number; scale: number },
  ) => Promise<void>;
  /** Closes the browser and removes its profile. */
  readonly close: () => Promise<void>;
}

const devtoolsUrl = async (stderr: ReadableStream<Uint8Array>): Promise<string> => {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Chromium exited before listening:\n${seen}`);
    seen += value;
    const m = seen.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) {
      // Keep draining stderr so Chromium never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      return m[1];
    }
  }
};

interface Message {
  readonly id?: number;
  readonly method?: string;
  readonly params?: Record<string, unknown>;
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly message: string };
}

const connect = async (url: string) => {
  const socket = new WebSocket(url);
  await new Promise((ok, fail) => {
    socket.onopen = ok;
    socket.onerror = () => fail(new Error(`cannot connect to ${url}`));
  });
  let next = 1;
  const pending = new Map<number, Pending>();
  const listeners: Array<(m: Message) => void> = [];
  socket.onmessage = (m) => {
    const msg = JSON.parse(m.data as string) as Message;
    if (msg.id === undefined) return listeners.forEach((l) => l(msg));
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${msg.error.message} (${JSON.stringify(msg.error)})`));
    else p.resolve(msg.result ?? {});
  };
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((ok, fail) => {
      const id = next++;
      pending.set(id, { resolve: ok, reject: fail });
      socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  const on = (listener: (m: Message) => void) => listeners.push(listener);
  return { socket, send, on };
};

type Send = (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** Starts Chromium on about:blank and attaches to its page. */
const launch = async (options: PageOptions) => {
  const child = new Deno.Command(chromiumPath!, {
    args: [
      ...headlessFlags(options.profile),
      `--window-size=${options.width},${options.height}`,
      "--remote-debugging-port=0",
      "about:blank",
    ],
    env: headlessEnv(options.profile),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const { socket, send: sendTo, on } = await connect(await devtoolsUrl(child.stderr));
  const { targetInfos } = await sendTo("Target.getTargets") as {
    targetInfos: Array<{ targetId: string; type: string }>;
  };
  const target = targetInfos.find((t) => t.type === "page")!;
  const { sessionId } = await sendTo("Target.attachToTarget", {
    targetId: target.targetId,
    flatten: true,
  }) as { sessionId: string };
  const send: Send = (method, params = {}) => sendTo(method, params, sessionId);
  const close = async () => {
    socket.close();
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(resolve(options.profile), { recursive: true }).catch(() => {});
  };
  return { send, on, close };
};

/** What a person does with a page: evaluate, click, press a key, take a screenshot. */
const actions = (send: Send) => {
  const mouse = (type: string, x: number, y: number) =>
    send("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 });
  return {
    evaluate: async <T>(expression: string): Promise<T> => {
      const r = await send("Runtime.evaluate", {
        expression,
        returnByValue: true,
        awaitPromise: true,
      });
      if (r.exceptionDetails) {
        throw new Error(`page script failed: ${JSON.stringify(r.exceptionDetails)}`);
      }
      return (r.result as { value: T }).value;
    },
    click: async (x: number, y: number) => {
      await mouse("mouseMoved", x, y);
      await mouse("mousePressed", x, y);
      await mouse("mouseReleased", x, y);
    },
    press: async (key: string) => {
      const code = key.length === 1 ? `Key${key.toUpperCase()}` : key;
      const text = key === "Enter" ? "\r" : key.length === 1 ? key : undefined;
      const keyCode = { Enter: 13, Tab: 9, " ": 32 }[key] ?? key.toUpperCase().charCodeAt(0);
      const common = { key, code, windowsVirtualKeyCode: keyCode };
      await send("Input.dispatchKeyEvent", {
        type: "keyDown",
        ...common,
        ...(text ? { text } : {}),
      });
      await send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
    },
    screenshot: async (
      path: string,
      clip?: { x: number; y: number; width: number; height: number; scale: number },
    ) => {
      const { data } = await send("Page.captureScreenshot", {
        format: "png",
        ...(clip ? { clip } : {}),
      }) as { data: string };
      await Deno.writeFile(path, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
    },
  };
};

/** The window a page opens in, and the throwaway profile folder Chromium uses. */
export interface PageOptions {
  readonly width: number;
  readonly height: number;
  readonly profile: string;
}

/** Opens `url` in headless Chromium with a window of `width`×`height` and waits for it to load. */
export const openPage = async (url: string, options: PageOptions): Promise<BrowserPage> => {
  const { send, on, close } = await launch(options);
  const errors: string[] = [];
  let loaded: () => void = () => {};
  on((m) => {
    if (m.method === "Runtime.exceptionThrown") errors.push(JSON.stringify(m.params));
    if (m.method === "Page.loadEventFired") loaded();
  });
  // Exceptions are reported from here on: page script that throws while loading is seen too.
  await send("Runtime.enable");
  await send("Page.enable");
  await Promise.all([new Promise<void>((ok) => (loaded = ok)), send("Page.navigate", { url })]);
  return { errors, send, ...actions(send), close };
};
