// Node modules a bundled library names but the playground never calls (ts-morph's real file
// system, os): an empty module, so the bundle loads; a call would fail loudly.
export default {};
