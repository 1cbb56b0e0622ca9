/**
 * Text helpers the renderers share: escaping for markup and durations in words.
 *
 * @module
 */

/**
 * Escapes text for XML and HTML content and attribute values.
 *
 * @category constructors
 */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A duration in words: 850ms, 1.25s, 2m05s, 1h02m.
 *
 * @category constructors
 */
export const formatDuration = (ms: number | null): string => {
  if (ms === null) return "–";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
};
