// The one Buffer use the compiler's bundles reach (the wasm backend writes the module's binary
// as base64), for esbuild's `inject`: bytes to base64 with the browser's btoa.
export const Buffer = {
  from(bytes: Uint8Array) {
    return {
      toString(encoding: "base64"): string {
        if (encoding !== "base64") throw new Error(`the playground's Buffer shim writes base64 only, not ${encoding}`);
        let s = "";
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(s);
      },
    };
  },
};
