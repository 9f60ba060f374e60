// Sizes for the program generator, kept apart from the compiler's own Size so that the generator
// does not trust what it tests: a polynomial over size names, as a canonical key, with its text and
// its value under the case's binding.

export interface Sz {
  /** Spec text, parenthesised when it is not an atom. */
  text: string;
  value: number;
  /** Canonical polynomial: "coef*name*name" terms sorted and joined by " + ". */
  key: string;
  /** Summands, when the size was built as a sum (so concat(parts) has this size). */
  parts?: Sz[];
}

type Poly = Map<string, number>;

function parse(key: string): Poly {
  const p: Poly = new Map();
  if (key === "0") return p;
  for (const term of key.split(" + ")) {
    const [c, ...names] = term.split("*");
    p.set(names.join("*"), Number(c));
  }
  return p;
}

function keyOf(p: Poly): string {
  const terms = [...p].filter(([, c]) => c !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return terms.length === 0 ? "0" : terms.map(([m, c]) => (m ? `${c}*${m}` : `${c}`)).join(" + ");
}

export function num(n: number): Sz {
  return { text: String(n), value: n, key: keyOf(new Map([["", n]])) };
}

export function name(n: string, value: number): Sz {
  return { text: n, value, key: keyOf(new Map([[n, 1]])) };
}

const atomic = (s: Sz) => /^[A-Za-z_0-9]+$/.test(s.text);
const paren = (s: Sz) => (atomic(s) ? s.text : `(${s.text})`);

export function add(a: Sz, b: Sz): Sz {
  const p = parse(a.key);
  for (const [m, c] of parse(b.key)) p.set(m, (p.get(m) ?? 0) + c);
  return { text: `${a.text} + ${b.text}`, value: a.value + b.value, key: keyOf(p), parts: [...(a.parts ?? [a]), ...(b.parts ?? [b])] };
}

export function mul(a: Sz, b: Sz): Sz {
  const p: Poly = new Map();
  for (const [ma, ca] of parse(a.key)) {
    for (const [mb, cb] of parse(b.key)) {
      const m = [...(ma ? ma.split("*") : []), ...(mb ? mb.split("*") : [])].sort().join("*");
      p.set(m, (p.get(m) ?? 0) + ca * cb);
    }
  }
  return { text: `${paren(a)} * ${paren(b)}`, value: a.value * b.value, key: keyOf(p) };
}

/** The text of a size where it is an operand of + (slice bounds). */
export const asOperand = paren;
