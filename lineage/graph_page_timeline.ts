/**
 * The timeline of one pipeline run on the lineage page: a row per stage attempt, in start order,
 * with a bar on the run's time scale, and a row per stage of the pipeline the run never started.
 * Every state has an icon and a word besides its colour: a failed attempt that was tried again
 * says "retried", a later attempt says which try it was, and a stage with no attempt says
 * "skipped".
 *
 * @module
 */
import { escapeXml, formatDuration } from "./_text_format.ts";
import type { AttemptStatus, RunStatus, RunTimeline, StageAttemptView } from "./lineage_view.ts";

/**
 * The icon of each state on the page; the words beside them carry the same meaning.
 *
 * @category models
 */
export const STATE_ICONS: Readonly<Record<AttemptStatus | RunStatus | "skipped", string>> = {
  succeeded: "✓",
  failed: "✗",
  aborted: "⊘",
  waiting: "‖",
  paused: "‖",
  running: "▶",
  skipped: "–",
};

/**
 * An ISO time as `2026-12-05 08:21:30 UTC`, the same on every machine.
 *
 * @category constructors
 */
export const formatTime = (iso: string | null): string =>
  iso === null ? "?" : `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

interface Row {
  readonly attempt: StageAttemptView;
  /** A later attempt of the same stage exists. */
  readonly retried: boolean;
  /** The first earlier attempt of this stage that failed with the same error, if any. */
  readonly sameErrorAs: number | null;
}

const rowsOf = (stages: ReadonlyArray<StageAttemptView>): Row[] =>
  stages.map((s, i) => {
    const later = stages.slice(i + 1).some((o) => o.job === s.job);
    const first = stages.slice(0, i).find((o) => o.job === s.job && o.error === s.error);
    const same = s.error !== null && first !== undefined;
    return { attempt: s, retried: later, sameErrorAs: same ? first.attempt : null };
  });

const stateWords = (r: Row): string => {
  const s = r.attempt.status;
  if (s === "failed" && r.retried) return "failed, retried";
  if (s === "succeeded" && r.attempt.attempt > 1) return "succeeded on retry";
  return s;
};

const tryText = (s: StageAttemptView): string =>
  `${s.attempt > 1 ? "↻ " : ""}${s.attempt}${s.maxAttempts !== null ? `/${s.maxAttempts}` : ""}`;

const scale = (t: RunTimeline) => {
  const t0 = Date.parse(t.run.started ?? t.stages[0]?.started ?? "") || 0;
  const ends = t.stages.map((s) => Date.parse(s.ended ?? s.started ?? "") || t0);
  const span = Math.max(1, t.run.durationMs ?? 0, ...ends.map((e) => e - t0));
  const pct = (ms: number) => Math.min(100, Math.max(0, (ms / span) * 100)).toFixed(2);
  return (s: StageAttemptView) => {
    const start = (Date.parse(s.started ?? "") || t0) - t0;
    return `left:${pct(start)}%;width:${pct(s.durationMs ?? span - start)}%`;
  };
};

const attemptRow = (r: Row, bar: (s: StageAttemptView) => string): string => {
  const s = r.attempt;
  const classes = [
    "attempt",
    s.status,
    ...(r.retried ? ["retried"] : []),
    ...(s.attempt > 1 ? ["retry"] : []),
  ];
  const words = stateWords(r);
  const error = s.error === null
    ? ""
    : `<span class="error">${
      escapeXml(r.sameErrorAs === null ? s.error : `same error as try ${r.sameErrorAs}`)
    }</span>`;
  const tip = `${s.stage}, try ${s.attempt}${
    s.maxAttempts !== null ? ` of ${s.maxAttempts}` : ""
  }: ${words}, ${formatDuration(s.durationMs)}, started ${formatTime(s.started)}${
    s.error ? `\n${s.error}` : ""
  }`;
  return `<li class="${classes.join(" ")}" title="${escapeXml(tip)}">` +
    `<span class="mark" aria-hidden="true">${STATE_ICONS[s.status]}</span>` +
    `<span class="stage">${escapeXml(s.stage)}</span>` +
    `<span class="try">${escapeXml(tryText(s))}</span>` +
    `<span class="state">${escapeXml(words)}</span>` +
    `<span class="track"><span class="bar" style="${bar(s)}"></span></span>` +
    `<span class="dur">${escapeXml(formatDuration(s.durationMs))}</span>${error}</li>`;
};

const skippedRow = (stage: string): string =>
  `<li class="skipped-stage" title="${escapeXml(`${stage}: no attempt in this run`)}">` +
  `<span class="mark" aria-hidden="true">${STATE_ICONS.skipped}</span>` +
  `<span class="stage">${escapeXml(stage)}</span><span class="try"></span>` +
  `<span class="state">skipped</span><span class="note">not started in this run</span></li>`;

/**
 * One run's timeline as an HTML section; `skipped` names the pipeline's stages it never started.
 *
 * @category constructors
 */
export const timelineSection = (
  t: RunTimeline,
  index: number,
  skipped: ReadonlyArray<string>,
): string => {
  const r = t.run;
  const bar = scale(t);
  const rows = rowsOf(t.stages).map((row) => attemptRow(row, bar));
  return `<section class="timeline run-${r.status}" data-run="${index}"${
    index === 0 ? "" : " hidden"
  }>` +
    `<h3>${escapeXml(r.pipeline)} · ${escapeXml(r.docId ?? r.jobId ?? "")}</h3>` +
    `<p class="meta"><span class="status ${r.status}">${STATE_ICONS[r.status]} ${r.status}</span>` +
    ` · started ${escapeXml(formatTime(r.started))} · ${escapeXml(formatDuration(r.durationMs))}` +
    ` · ${r.stageCount} stages, ${r.attempts} attempts</p>` +
    `<p class="meta">run <code>${escapeXml(r.runId)}</code></p>` +
    `<ol class="attempts">${[...rows, ...skipped.map(skippedRow)].join("")}</ol></section>`;
};
