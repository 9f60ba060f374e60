// Share links: the spec, its sizes, the task and the baseline as JSON, deflated with the browser's
// own CompressionStream("deflate-raw") and written in base64url into the URL's fragment (never
// sent to a server).

export interface Shared {
  spec: string;
  sizes: string;
  task: string;
  baseline: string;
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

function toBase64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export async function encodeShare(s: Shared): Promise<string> {
  return `s=${toBase64url(await pipe(new TextEncoder().encode(JSON.stringify(s)), new CompressionStream("deflate-raw")))}`;
}

/** The shared state in a fragment (`#s=...`), or undefined when there is none; throws with a
 *  readable message when the link is damaged. */
export async function decodeShare(hash: string): Promise<Shared | undefined> {
  const m = /^#?s=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return undefined;
  try {
    const json = JSON.parse(new TextDecoder().decode(await pipe(fromBase64url(m[1]!), new DecompressionStream("deflate-raw")))) as Partial<Shared>;
    if (typeof json.spec !== "string") throw new Error("no spec in it");
    return { spec: json.spec, sizes: String(json.sizes ?? ""), task: String(json.task ?? "adding"), baseline: String(json.baseline ?? "lstm") };
  } catch (e) {
    throw new Error(`this share link is damaged (${e instanceof Error ? e.message : String(e)}); showing the default spec`);
  }
}
