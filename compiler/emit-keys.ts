// A spec's names become property keys of the generated module's objects (params, inputs, states,
// outputs, gradients, dims). Any identifier of the language is a valid key, but two kinds need
// care in JavaScript: `__proto__` as a literal key sets the object's prototype instead of defining
// a property, and a name that Object.prototype has (`toString`, `constructor`, `valueOf`, ...) is
// "present" on every object. These helpers write keys and reads that treat them as plain names.

const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The key of an object literal's property: computed for `__proto__`, the name otherwise. */
export function literalKey(name: string): string {
  return name === "__proto__" ? `["__proto__"]` : name;
}

/** Reads property `name` of `obj`, an object the caller may have given without it (an optional
 *  map such as options.initialState, where `obj` itself may be undefined): undefined unless it is
 *  the object's own property. Ordinary names keep the plain `obj?.name`. */
export function optionalRead(obj: string, name: string, objOptional: boolean): string {
  if (!INHERITED.has(name)) return `${obj}${objOptional ? "?." : "."}${name}`;
  const guard = `${objOptional ? `${obj} !== undefined && ` : ""}Object.prototype.hasOwnProperty.call(${obj}, ${JSON.stringify(name)})`;
  return `(${guard} ? ${obj}.${name} : undefined)`;
}

/** Reads property `name` of `obj` where an optionalRead of it was just found defined (in the body
 *  of `if (optionalRead(...))`): TypeScript does not carry that narrowing through the guarded
 *  read, so an inherited name asserts it. */
export function presentRead(obj: string, name: string): string {
  return INHERITED.has(name) ? `${obj}!.${name}!` : `${obj}.${name}`;
}

/** JSON text as a JavaScript expression: a `"__proto__"` key becomes computed (JSON.parse would
 *  define it; an object literal would not). */
export function jsonLiteral(value: unknown): string {
  return JSON.stringify(value).replace(/"__proto__":/g, `["__proto__"]:`);
}
