// The words a WebGPU module uses for itself (Backend.reserved): it is a TypeScript module carrying
// the TypeScript kernel (for createParams and step) beside the JavaScript side of the GPU kernel,
// so the TypeScript words and the top-level names of backends/webgpu/support/*.ts
// (test/layering.test.ts checks they are all here).

import { TS_RESERVED } from "../ts/reserved.ts";

export const WEBGPU_RESERVED: readonly string[] = [
  ...TS_RESERVED,
  "GpuTensors", "GpuBuffer", "GpuPass", "GpuEncoder", "GpuDevice", "GpuAdapter", "MAP_READ", "COPY_SRC", "COPY_DST",
  "UNIFORM", "STORAGE", "GpuInfo", "GpuKernelImpl", "putGpu", "defaultDevice", "GpuTape", "webgpuKernel",
  "GpuPath", "GpuStageInfo", "GpuRun", "routeStages", "entriesOf", "encodeRuns",
  // the module's own exports beside the kernel's
  "useDispatch", "dispatchPaths", "useDevice", "gpu", "cpu", "INFO", "WGSL_ENTRIES", "WGSL_HEAD", "typescriptKernel",
];
