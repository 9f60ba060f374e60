// Where the generator's identifiers come from. The plain source gives readable names by role; the
// hostile source draws from JavaScript and TypeScript reserved words, Object.prototype members and
// the identifiers a generated module uses for itself, which a spec may legally use as names and
// which must then either work (with correct gradients) or get a diagnostic.

import type { Choices } from "./choices.ts";

export type Role = "size" | "input" | "state" | "param" | "local" | "cell" | "output" | "const";

export interface NameSource {
  fresh(role: Role, c: Choices): string;
}

const PREFIX: Record<Role, string> = { size: "N", input: "x", state: "h", param: "W", local: "a", cell: "c", output: "y", const: "k" };

/** Readable names: x0, h1, W2, ... (sizes N0, N1). */
export function plainNames(): NameSource {
  const n = new Map<Role, number>();
  return {
    fresh(role) {
      const k = n.get(role) ?? 0;
      n.set(role, k + 1);
      return `${PREFIX[role]}${k}`;
    },
  };
}

/** Words of the spec language itself: using them as names is a syntax error, so the hostile
 *  source leaves them to the front-end fuzzer. */
const SPEC_KEYWORDS = new Set(["cell", "stack", "layer", "input", "state", "param", "output", "import", "from"]);

// Written out here rather than read from the compiler: the fuzzer must not inherit its blind spots.
const JS_RESERVED =
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if " +
  "import in instanceof new null return super switch this throw true try typeof var void while with yield let static " +
  "implements interface package private protected public await arguments eval undefined NaN Infinity globalThis";
const TS_WORDS =
  "abstract any as asserts async bigint boolean constructor declare get infer intrinsic is keyof module namespace never " +
  "number object of out override readonly require set string symbol type unique unknown accessor satisfies global " +
  "Array Object Math Number String Error RangeError TypeError Float32Array Float64Array Int32Array ArrayBuffer WeakSet " +
  "Map Set Symbol Promise JSON Reflect Proxy console process Buffer exports window self";

const OBJECT_PROTOTYPE = Object.getOwnPropertyNames(Object.prototype);

/** The identifiers of generated modules (see kinds.ts, which collects them from emitted code). */
let internal: string[] = [];

export function setInternalNames(names: readonly string[]): void {
  internal = [...names];
}

/** Every word-like token of a text; strings and comments included, since over-collecting only
 *  adds candidates. */
export function identifiersOf(code: string): string[] {
  return [...new Set(code.match(/[A-Za-z_$][A-Za-z0-9_$]*/g) ?? [])];
}

const usable = (w: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(w) && !SPEC_KEYWORDS.has(w);

/** The hostile words by family, so each family is drawn about as often however large it is. */
export function hostilePool(): string[][] {
  const families = [JS_RESERVED.split(" "), TS_WORDS.split(" "), OBJECT_PROTOTYPE, internal];
  return families.map((f) => [...new Set(f)].filter(usable).sort()).filter((f) => f.length > 0);
}

/** Draws from the hostile pool about two times in three, else a plain name; never twice the same. */
export function hostileNames(pool: readonly (readonly string[])[] = hostilePool()): NameSource {
  const plain = plainNames();
  const used = new Set<string>();
  return {
    fresh(role, c) {
      for (let tries = 0; tries < 4 && c.chance(2, 3); tries++) {
        const w = c.pick(c.pick(pool));
        if (!used.has(w)) {
          used.add(w);
          return w;
        }
      }
      let w = plain.fresh(role, c);
      while (used.has(w)) w = plain.fresh(role, c);
      used.add(w);
      return w;
    },
  };
}
