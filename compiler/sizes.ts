// Symbolic sizes. A size is a polynomial over size names with integer coefficients, kept in a
// canonical form so that `I + H` equals `H + I` and `2*H + 2*H` equals `4*H`.
//
// Sizes are bounded (SIZE_LIMITS) so that normalising one stays cheap: a product of sums grows
// combinatorially (six names to the 24th power have 118,755 terms), and nothing a real cell says
// comes near the limits. The checker reports a size past them as CE221 instead of expanding it.

/** Monomial key: size names sorted and joined by "*"; "" is the constant term. */
type Key = string;

/** Bounds on one size (and on each size expression the checker reads). */
export const SIZE_LIMITS = {
  /** Numbers, names and operators in one size expression as written. */
  nodes: 1000,
  /** Highest total degree of a term (`H*H*I` has degree 3). */
  degree: 8,
  /** Terms of the normalised polynomial. */
  terms: 256,
} as const;

/** Either a size, or why computing it would pass SIZE_LIMITS (a phrase for CE221). */
export type SizeOr = Size | { problem: string };

export function isSize(s: SizeOr): s is Size {
  return s instanceof Size;
}

export class Size {
  private constructor(private readonly terms: ReadonlyMap<Key, number>) {}

  static of(n: number): Size {
    return new Size(n === 0 ? new Map() : new Map([["", n]]));
  }

  static name(name: string): Size {
    return new Size(new Map([[name, 1]]));
  }

  add(o: Size): Size {
    return Size.combine(this, o, 1);
  }

  sub(o: Size): Size {
    return Size.combine(this, o, -1);
  }

  /** The product, assumed within the limits (see mulChecked for sizes from user text). */
  mul(o: Size): Size {
    const r = this.mulChecked(o);
    if (!isSize(r)) throw new Error(`internal: size product past the limits (${r.problem})`);
    return r;
  }

  /** The product, or why it would pass SIZE_LIMITS, found before any large expansion. */
  mulChecked(o: Size): SizeOr {
    const degree = this.degree() + o.degree();
    if (degree > SIZE_LIMITS.degree) return { problem: `a term of degree ${degree}; the limit is ${SIZE_LIMITS.degree}` };
    // Both factors are within the term limit, so this loop is at most terms² steps.
    const out = new Map<Key, number>();
    for (const [ka, ca] of this.terms) {
      for (const [kb, cb] of o.terms) {
        const k = [...splitKey(ka), ...splitKey(kb)].sort().join("*");
        out.set(k, (out.get(k) ?? 0) + ca * cb);
      }
    }
    return Size.checked(prune(out));
  }

  /** The sum or difference, or why it would pass SIZE_LIMITS. */
  addChecked(o: Size, sign: 1 | -1 = 1): SizeOr {
    return Size.checked(new Map(Size.combine(this, o, sign).terms));
  }

  equals(o: Size): boolean {
    if (this.terms.size !== o.terms.size) return false;
    for (const [k, c] of this.terms) if (o.terms.get(k) !== c) return false;
    return true;
  }

  /** The constant value when the size has no names, else undefined. */
  constant(): number | undefined {
    if (this.terms.size === 0) return 0;
    if (this.terms.size === 1 && this.terms.has("")) return this.terms.get("");
    return undefined;
  }

  /** Highest total degree of a term; 0 for a constant. */
  degree(): number {
    let d = 0;
    for (const k of this.terms.keys()) d = Math.max(d, splitKey(k).length);
    return d;
  }

  /** Size names this size mentions. */
  names(): string[] {
    const out = new Set<string>();
    for (const k of this.terms.keys()) for (const n of splitKey(k)) out.add(n);
    return [...out].sort();
  }

  /** Value under a binding; undefined when a name is unbound. Only the binding's own properties
   *  count, so a size named `toString` or `__proto__` is never read from Object.prototype. */
  evaluate(binding: Readonly<Record<string, number>>): number | undefined {
    let total = 0;
    for (const [k, c] of this.terms) {
      let v = c;
      for (const n of splitKey(k)) {
        if (!Object.hasOwn(binding, n)) return undefined;
        v *= binding[n]!;
      }
      total += v;
    }
    return total;
  }

  /**
   * True when the size is ≤ 0 under every binding of its names to positive integers. Sound, not
   * complete: with each name written as 1 + u (u ≥ 0), a polynomial in u whose coefficients are
   * all ≤ 0 is ≤ 0 everywhere. This catches `H - 2*H`, `1 - H` and `H - H`, not `H*H - 4*H + 3`.
   */
  alwaysNonPositive(): boolean {
    for (const c of this.shifted().values()) if (c > 0) return false;
    return true;
  }

  /** True when the size is < 0 under every binding to positive integers (see alwaysNonPositive). */
  alwaysNegative(): boolean {
    // Sizes take integer values, so < 0 is ≤ -1.
    return this.add(Size.of(1)).alwaysNonPositive();
  }

  /** Replaces names by sizes (used to carry a layer's sizes into a stack's). Throws if the result
   *  would pass the limits; the checker has made sure it does not (see substituteChecked). */
  substitute(map: ReadonlyMap<string, Size>): Size {
    const r = this.substituteChecked(map);
    if (!isSize(r)) throw new Error(`internal: size substitution past the limits (${r.problem})`);
    return r;
  }

  /** substitute, or why the result would pass SIZE_LIMITS. */
  substituteChecked(map: ReadonlyMap<string, Size>): SizeOr {
    let out = Size.of(0);
    for (const [k, c] of this.terms) {
      let term: SizeOr = Size.of(c);
      for (const n of splitKey(k)) {
        term = term.mulChecked(map.get(n) ?? Size.name(n));
        if (!isSize(term)) return term;
      }
      const sum = out.addChecked(term);
      if (!isSize(sum)) return sum;
      out = sum;
    }
    return out;
  }

  /** Canonical text: higher-degree terms first, then by name, the constant last: `4*H + I + 1`. */
  toString(): string {
    const keys = [...this.terms.keys()].sort((a, b) => {
      const da = a === "" ? 0 : splitKey(a).length;
      const db = b === "" ? 0 : splitKey(b).length;
      if (da !== db) return db - da;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    if (keys.length === 0) return "0";
    let s = "";
    keys.forEach((k, i) => {
      const c = this.terms.get(k)!;
      const mag = Math.abs(c);
      const body = k === "" ? String(mag) : mag === 1 ? k : `${mag}*${k}`;
      if (i === 0) s = c < 0 ? `-${body}` : body;
      else s += c < 0 ? ` - ${body}` : ` + ${body}`;
    });
    return s;
  }

  /** Coefficients after writing every name n as 1 + n (the names then range over u ≥ 0). */
  private shifted(): Map<Key, number> {
    const out = new Map<Key, number>();
    for (const [k, c] of this.terms) {
      // (1 + n)^e expands to sum_j C(e, j) n^j; a term is a product of such factors. Within the
      // degree limit a term has at most 2^degree sub-monomials.
      let parts: [string[], number][] = [[[], c]];
      for (const [n, e] of powers(splitKey(k))) {
        const next: [string[], number][] = [];
        for (const [names, coef] of parts) {
          let binom = 1;
          for (let j = 0; j <= e; j++) {
            next.push([[...names, ...Array<string>(j).fill(n)], coef * binom]);
            binom = (binom * (e - j)) / (j + 1);
          }
        }
        parts = next;
      }
      for (const [names, coef] of parts) {
        const key = names.sort().join("*");
        out.set(key, (out.get(key) ?? 0) + coef);
      }
    }
    return out;
  }

  private static checked(m: Map<Key, number>): SizeOr {
    if (m.size > SIZE_LIMITS.terms) return { problem: `${m.size} terms; the limit is ${SIZE_LIMITS.terms}` };
    for (const c of m.values()) {
      if (!Number.isSafeInteger(c)) return { problem: `a coefficient past 2^53 - 1 (${c})` };
    }
    return new Size(m);
  }

  private static combine(a: Size, b: Size, sign: 1 | -1): Size {
    const out = new Map(a.terms);
    for (const [k, c] of b.terms) out.set(k, (out.get(k) ?? 0) + sign * c);
    return new Size(prune(out));
  }
}

function splitKey(k: Key): string[] {
  return k === "" ? [] : k.split("*");
}

/** Each distinct name of a sorted key with its exponent: H*H*I -> [H, 2], [I, 1]. */
function powers(names: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  for (const n of names) {
    const last = out[out.length - 1];
    if (last && last[0] === n) last[1]++;
    else out.push([n, 1]);
  }
  return out;
}

function prune(m: Map<Key, number>): Map<Key, number> {
  for (const [k, c] of m) if (c === 0) m.delete(k);
  return m;
}

/** A symbolic shape: [n] for a vector, [m, n] for a matrix, [] for a scalar. */
export type SymShape = readonly Size[];

export function shapeText(s: SymShape): string {
  return `[${s.map((d) => d.toString()).join(", ")}]`;
}
