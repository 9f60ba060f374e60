// How an error message shows a value a user passed: by type and value, so `batchSize: "2"` reads
// `got the string "2"`, not `got 2`.

export function describeValue(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  if (typeof v === "bigint") return `the bigint ${v}n`;
  if (typeof v === "function") return "a function";
  if (typeof v === "symbol") return "a symbol";
  if (ArrayBuffer.isView(v)) return Object.prototype.toString.call(v).slice(8, -1);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return "an object";
}
