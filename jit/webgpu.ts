// The device a WebGPU kernel runs on when a layer is made with `rnn({ target: "webgpu" })` in this
// process: navigator.gpu's adapter where the process has one, else the `webgpu` npm package
// (Dawn's Node binding) when it is installed. Where neither gives an adapter the layer is not
// built, and the error says which was tried and what to use instead.

/** The part of the WebGPU API used here (the project compiles without the DOM's types). */
interface GpuLike {
  requestAdapter(): Promise<{ limits: Record<string, number>; requestDevice(d?: object): Promise<unknown> } | null>;
}

/** A device for a layer's WebGPU kernel; `label` starts the error where there is none. */
export async function webgpuDevice(label: string): Promise<unknown> {
  const instead = `use target "wasm" or "ts" for the layer, or run the WebGPU kernel in a browser with WebGPU`;
  let gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  let where = "navigator.gpu";
  if (!gpu) {
    let dawn: { create(flags: string[]): unknown };
    try {
      dawn = (await import("webgpu")) as unknown as typeof dawn;
    } catch {
      throw new Error(`${label}: target "webgpu" needs WebGPU, and this process has none: no navigator.gpu, and the \`webgpu\` package (Dawn's binding for Node) is not installed; ${instead}`);
    }
    gpu = dawn.create([]) as GpuLike;
    where = "the `webgpu` package (Dawn)";
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error(`${label}: target "webgpu" found no WebGPU adapter: ${where} is here but requestAdapter() gave none (no GPU, or no driver for it, on this machine); ${instead}`);
  }
  const lim = adapter.limits;
  return adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: lim["maxStorageBufferBindingSize"], maxBufferSize: lim["maxBufferSize"] } });
}
