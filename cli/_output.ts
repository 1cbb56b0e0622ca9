/**
 * Terminal output helpers: a progress line that redraws itself on a TTY, and plain tables.
 *
 * @module
 */

const encoder = new TextEncoder();

/** A progress line on stderr; silent when stderr is not a terminal. */
export const makeProgress = (total: number, label: string) => {
  const tty = Deno.stderr.isTerminal();
  let done = 0;
  const counts: Record<string, number> = {};
  const draw = () => {
    if (!tty) return;
    const parts = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
    Deno.stderr.writeSync(
      encoder.encode(`\r\x1b[2K${label} ${done}/${total}${parts ? ` (${parts})` : ""}`),
    );
  };
  return {
    tick: (status: string) => {
      done++;
      counts[status] = (counts[status] ?? 0) + 1;
      draw();
    },
    end: () => {
      if (tty) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    },
  };
};

/** Renders rows as an aligned text table with a header. */
export const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
): string => {
  // A loop, not `Math.max(...rows)`: spreading a run's hundred thousand rows overflows the stack.
  const widths = header.map((h, i) =>
    rows.reduce((width, r) => Math.max(width, (r[i] ?? "").length), h.length)
  );
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
};
