// The words a PyTorch module uses for itself (Backend.reserved): Python's keywords and the builtins
// a module reads, the module-level names its code reads, and its functions' own locals.

/** Python's keywords (and the builtins the printed code calls): no local of a printed function is
 *  one of them (./core.ts). */
export const PYTHON_KEYWORDS: ReadonlySet<string> = new Set(["torch", "math", "int", "float", "bool", "len", "range", "list", "tuple", "print", "and", "or", "not", "if", "else", "for", "in", "is", "None", "True", "False", "lambda", "def", "return", "pass", "from", "import", "as", "with", "global", "nonlocal", "assert", "del", "try", "except", "finally", "raise", "while", "break", "continue", "class", "yield", "async", "await", "elif"]);

const PY_WORDS =
  "False None True and assert def del elif except from global is lambda nonlocal not or pass raise print len range " +
  "float int list dict tuple str super object self cls";

export const TORCH_RESERVED: readonly string[] = [
  ...PYTHON_KEYWORDS,
  ...PY_WORDS.split(" "),
  // module-level names its forward reads, and its forward's locals
  "torch", "nn", "self", "Tensor", "Optional", "List", "Tuple", "Dict", "math", "lengths", "state_masks", "dtype",
  "device", "steps", "batch_size",
];
