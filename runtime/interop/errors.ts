// The error every weight import and export throws for a mistake in what it was given (a missing
// tensor, a wrong shape, an unknown key). Its own file so that code running in a browser can throw
// it without loading the file-reading parts of interop.

export class InteropError extends Error {
  override readonly name = "InteropError";
}
