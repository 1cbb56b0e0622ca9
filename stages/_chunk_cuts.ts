/**
 * Cutting an over-long stretch of text into pieces of bounded length, for the chunker.
 *
 * @module
 */

const isSpace = (code: number): boolean =>
  code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x3000 ||
  code === 0x2028 || code === 0x2029 || (code >= 0x2000 && code <= 0x200a);

/**
 * Where to cut `[start, end)` so no piece is longer than `max`: after the last whitespace in the
 * second half of each piece, else at `max` (moved back one unit rather than split a surrogate
 * pair). Each unit is looked at a bounded number of times, so the cuts cost linear time.
 */
export const cutPoints = (
  text: string,
  start: number,
  end: number,
  max: number,
): ReadonlyArray<number> => {
  const cuts: Array<number> = [];
  let from = start;
  while (end - from > max) {
    let at = from + max;
    for (let i = at - 1; i >= from + max / 2; i--) {
      if (isSpace(text.charCodeAt(i))) {
        at = i + 1;
        break;
      }
    }
    const low = text.charCodeAt(at);
    if (low >= 0xdc00 && low <= 0xdfff && at - 1 > from) at -= 1;
    cuts.push(at);
    from = at;
  }
  return cuts;
};
