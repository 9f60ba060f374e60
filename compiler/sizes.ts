// Symbolic sizes. A size is a polynomial over size names with integer coefficients, kept in a
// canonical form so that `I + H` equals `H + I` and `2*H + 2*H` equals `4*H`.

/** Monomial key: size names sorted and joined by "*"; "" is the constant term. */
type Key = string;

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

  mul(o: Size): Size {
    const out = new Map<Key, number>();
    for (const [ka, ca] of this.terms) {
      for (const [kb, cb] of o.terms) {
        const names = [...splitKey(ka), ...splitKey(kb)].sort();
        const k = names.join("*");
        out.set(k, (out.get(k) ?? 0) + ca * cb);
      }
    }
    return new Size(prune(out));
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

  /** Size names this size mentions. */
  names(): string[] {
    const out = new Set<string>();
    for (const k of this.terms.keys()) for (const n of splitKey(k)) out.add(n);
    return [...out].sort();
  }

  /** Value under a binding; undefined when a name is unbound. */
  evaluate(binding: Readonly<Record<string, number>>): number | undefined {
    let total = 0;
    for (const [k, c] of this.terms) {
      let v = c;
      for (const n of splitKey(k)) {
        const b = binding[n];
        if (b === undefined) return undefined;
        v *= b;
      }
      total += v;
    }
    return total;
  }

  /** Replaces names by sizes (used to carry a layer's sizes into a stack's). */
  substitute(map: ReadonlyMap<string, Size>): Size {
    let out = Size.of(0);
    for (const [k, c] of this.terms) {
      let term = Size.of(c);
      for (const n of splitKey(k)) term = term.mul(map.get(n) ?? Size.name(n));
      out = out.add(term);
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

  private static combine(a: Size, b: Size, sign: 1 | -1): Size {
    const out = new Map(a.terms);
    for (const [k, c] of b.terms) out.set(k, (out.get(k) ?? 0) + sign * c);
    return new Size(prune(out));
  }
}

function splitKey(k: Key): string[] {
  return k === "" ? [] : k.split("*");
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
