// Public face of weight interop: bring Keras / TensorFlow.js, PyTorch and ONNX weights into a
// compiled cell's named parameters and take them back out. The layout of each system is data in
// the `<cell>.map.json` next to the spec; see mapping.ts for the format. The package exports this
// module as `cellc/interop` (Node: it reads mapping and weight files).

export { InteropError, SYSTEMS, mappingPathForSpec, parseMapping } from "./mapping.ts";
export { loadMapping } from "./mapping-files.ts";
export type { BlockRef, CellMapping, Mapping, StackMapping, System, SystemMapping, TensorMapping } from "./mapping.ts";
export { planFor } from "./plan.ts";
export type { BlockPlan, LayerPlan, SystemPlan, TensorPlan } from "./plan.ts";
export { pack, unpack } from "./engine.ts";
export { toForeignTensor, toNested } from "./tensor.ts";
export type { ForeignTensor, ForeignTensorInput, NestedArray, TensorLike } from "./tensor.ts";
export { exportKeras, exportPytorch, importKeras, importPytorch, kerasWeightsToJson } from "./frameworks.ts";
export type { KerasWeights, NamedTensor, PytorchOptions, StateDict } from "./frameworks.ts";
export { exportOnnx, importOnnx, exportOnnxBidirectional, importOnnxBidirectional } from "./onnx/interop.ts";
export { exportKerasBidirectional, exportPytorchBidirectional, importKerasBidirectional, importPytorchBidirectional } from "./directions.ts";
export type { DirectionParams, KerasBidirectionalWeights } from "./directions.ts";
export type { OnnxExportOptions, OnnxImportOptions } from "./onnx/interop.ts";
export { buildRnnModel, readRnnNodes } from "./onnx/model.ts";
export { exportTorchStateDict, importTorchStateDict, loadTorchWeights, saveTorchWeights, type TorchStateDict, type TorchWeightsOptions } from "./torch.ts";
export type { RnnLayerSpec, RnnNode, RnnOp } from "./onnx/model.ts";

import { mappingPathForSpec, type Mapping } from "./mapping.ts";
import { loadMapping } from "./mapping-files.ts";

/** The mapping stored next to a spec file (lstm.cell -> lstm.map.json). */
export function loadMappingForSpec(specPath: string): Mapping {
  return loadMapping(mappingPathForSpec(specPath));
}
