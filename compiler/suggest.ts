// "Did you mean ...?" for unknown names: the closest known name by edit distance, offered only
// when it is close enough to be a likely typo (so `q` is not "corrected" to `h`).

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const m = s.length;
  const n = t.length;
  // Three rolling rows: the transposition step looks two rows back.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/** Longest name compared; longer ones are not typos of a short name, and this bounds the work. */
const MAX_COMPARED = 64;

/**
 * The known name closest to `name`, if it is a likely typo: it differs only in case, or by at
 * most one edit per three characters (`sigmoidd` -> `sigmoid`, `tnah` -> `tanh`; a one- or
 * two-letter name gets a suggestion only for a case difference).
 */
export function closest(name: string, known: Iterable<string>): string | undefined {
  if (name.length > MAX_COMPARED) return undefined;
  const allowed = Math.floor(name.length / 3);
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    if (k === name || Math.abs(k.length - name.length) > allowed || k.length > MAX_COMPARED) continue;
    const d = editDistance(name, k);
    if (d < bestD || (d === bestD && best !== undefined && k < best)) {
      best = k;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  return bestD <= allowed || best.toLowerCase() === name.toLowerCase() ? best : undefined;
}

/** `; did you mean 'x'?` for a diagnostic message, or "". */
export function didYouMean(name: string, known: Iterable<string>): string {
  const c = closest(name, known);
  return c === undefined ? "" : `; did you mean '${c}'?`;
}
