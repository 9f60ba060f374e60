// Identifiers of generated code, assigned once in the plan and used as they are by every printer.
// Spec names become identifiers only through here: a name is made of [A-Za-z0-9_] (anything else
// becomes _), never starts with a digit, and never equals a reserved word nor another name
// already given. The reserved words are the backends' to declare (Backend.reserved: their
// language's keywords and globals, their support code's top-level names, their printers' own
// locals); the caller of the planner hands them in (PlanTarget.reserved), so the compiler knows no
// printer's internals.

/** Numbered identifiers the printers make (row offsets o0, o1, ...; argument locals in0, ...). */
export const PRINTER_NUMBERED = /^(o|in|s|init|masks|dOut|dFinal|own)\d+$/;


function identifier(want: string): string {
  let base = want.replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
  // o0, in0, ... are numbered names the printers make for themselves.
  if (PRINTER_NUMBERED.test(base)) base = `${base}_`;
  return base;
}

/** Allocates unique, valid, stable identifiers for a module. */
export class Names {
  private readonly used = new Set<string>();
  constructor(private readonly reserved: ReadonlySet<string>) {}

  /** Names given inside scopes (a map's registers): module names avoid them too. */
  private readonly scoped = new Set<string>();

  get(want: string): string {
    const base = identifier(want);
    let name = base;
    for (let i = 2; this.taken(name) || this.scoped.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  taken(name: string): boolean {
    return this.reserved.has(name) || this.used.has(name);
  }

  /** Names for one inner scope (a fused loop's registers): unique within it and never equal to
   *  a module name, but free to repeat names of other scopes. */
  scope(): { get(want: string): string } {
    const own = new Set<string>();
    return {
      get: (want: string) => {
        const base = identifier(want);
        let name = base;
        for (let i = 2; this.taken(name) || own.has(name); i++) name = `${base}_${i}`;
        own.add(name);
        this.scoped.add(name);
        return name;
      },
    };
  }
}
