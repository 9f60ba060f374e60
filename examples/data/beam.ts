// Beam search for a step-by-step decoder, batched over sentences: each sentence keeps the K best
// partial outputs by total log-probability; a finished one (ended by EOS) stays in the beam with
// its score; decoding stops when every live beam has finished or after maxLength tokens. With K = 1
// it is greedy decoding (the most probable token at each step). The decoder is a function, so the
// search knows nothing of models: it hands the step the last tokens and the decoder states of every
// beam (rows of [N*K, width] arrays) and gets next-token probabilities and new states back.

/** One decoder step for R rows: tokens [R], states [R, width] each -> probabilities [R, V] and new states. */
export type DecoderStep = (tokens: Float32Array, states: Float32Array[]) => { probs: Float32Array; states: Float32Array[] };

export interface BeamOptions {
  /** Beam width K (1: greedy). */
  beam: number;
  maxLength: number;
  /** Vocabulary size V. */
  vocab: number;
  bos: number;
  eos: number;
  /** Tokens never produced (padding, BOS). */
  never?: readonly number[];
}

/** The best output per sentence (token ids without EOS), from initial states [N, width] each. */
export function beamSearch(step: DecoderStep, initial: readonly Float32Array[], N: number, o: BeamOptions): number[][] {
  const K = o.beam;
  if (!Number.isInteger(K) || K < 1) throw new Error(`beam search: beam must be a positive integer, got ${K}`);
  const R = N * K;
  const widths = initial.map((s) => s.length / N);
  // Beam k of sentence i is row i*K + k; only beam 0 is live at the start.
  let states = initial.map((s, j) => {
    const w = widths[j]!;
    const out = new Float32Array(R * w);
    for (let r = 0; r < R; r++) out.set(s.subarray(Math.floor(r / K) * w, (Math.floor(r / K) + 1) * w), r * w);
    return out;
  });
  let score = Float64Array.from({ length: R }, (_, r) => (r % K === 0 ? 0 : -Infinity));
  let tokens: number[][] = Array.from({ length: R }, () => []);
  let done = new Array<boolean>(R).fill(false);
  const last = new Float32Array(R).fill(o.bos);
  const never = new Set(o.never ?? []);
  for (let t = 0; t < o.maxLength && done.some((d, r) => !d && score[r] !== -Infinity); t++) {
    const out = step(last, states);
    const nScore = new Float64Array(R).fill(-Infinity);
    const nTokens: number[][] = Array.from({ length: R }, () => []);
    const nDone = new Array<boolean>(R).fill(false);
    const from = new Int32Array(R);
    for (let i = 0; i < N; i++) {
      const cands: { from: number; tok: number; score: number }[] = [];
      for (let k = 0; k < K; k++) {
        const r = i * K + k;
        if (score[r] === -Infinity) continue;
        if (done[r]) {
          cands.push({ from: r, tok: -1, score: score[r]! });
          continue;
        }
        for (let v = 0; v < o.vocab; v++) {
          if (never.has(v)) continue;
          cands.push({ from: r, tok: v, score: score[r]! + Math.log(Math.max(out.probs[r * o.vocab + v]!, 1e-30)) });
        }
      }
      // Ties keep the earlier candidate (a stable sort), so results repeat exactly.
      cands.sort((a, b) => b.score - a.score);
      cands.slice(0, K).forEach((c, k) => {
        const r = i * K + k;
        const finished = c.tok === -1 || c.tok === o.eos;
        nScore[r] = c.score;
        nTokens[r] = finished ? tokens[c.from]! : [...tokens[c.from]!, c.tok];
        nDone[r] = finished;
        last[r] = finished ? o.eos : c.tok;
        from[r] = c.from;
      });
      for (let k = cands.length; k < K; k++) from[i * K + k] = i * K;
    }
    states = out.states.map((s, j) => {
      const w = widths[j]!;
      const moved = new Float32Array(R * w);
      for (let r = 0; r < R; r++) moved.set(s.subarray(from[r]! * w, (from[r]! + 1) * w), r * w);
      return moved;
    });
    [score, tokens, done] = [nScore, nTokens, nDone];
  }
  // Beams stay sorted by score; take the best finished one when there is one.
  return Array.from({ length: N }, (_, i) => {
    let best = i * K;
    for (let k = 0; k < K; k++) if (done[i * K + k] && !done[best]) best = i * K + k;
    return tokens[best]!;
  });
}
