// The ONNX protobuf schema, complete, from the onnx-proto package (onnx.proto compiled for
// protobufjs): every message, including graph-valued attributes (Scan's body) and metadata. Plus the
// few helpers cellc uses around it: encode, decode to plain objects with numbers for int64, and
// builders for tensors, attributes and value infos that the writers share.

import onnxProto from "onnx-proto";

export const onnx = onnxProto.onnx;
export type IModelProto = onnxProto.onnx.IModelProto;
export type IGraphProto = onnxProto.onnx.IGraphProto;
export type INodeProto = onnxProto.onnx.INodeProto;
export type ITensorProto = onnxProto.onnx.ITensorProto;
export type IAttributeProto = onnxProto.onnx.IAttributeProto;
export type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** TensorProto.DataType values cellc writes and reads. */
export const DataType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  BOOL: onnx.TensorProto.DataType.BOOL,
  DOUBLE: onnx.TensorProto.DataType.DOUBLE,
} as const;

/** AttributeProto.AttributeType. */
export const AttributeType = onnx.AttributeProto.AttributeType;

// Plain-object views of decoded messages (int64 as numbers, enums as numbers, absent = default).
export interface TensorProto {
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  name?: string;
  rawData?: Uint8Array;
  doubleData?: number[];
  externalData?: { key?: string; value?: string }[];
  dataLocation?: number;
}

export interface AttributeProto {
  name?: string;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  type?: number;
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  attribute?: AttributeProto[];
  domain?: string;
}

export interface Dimension {
  dimValue?: number;
  dimParam?: string;
}

export interface ValueInfoProto {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: Dimension[] } } };
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
}

export interface ModelProto {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  graph?: GraphProto;
  opsetImport?: { domain?: string; version?: number }[];
  metadataProps?: { key?: string; value?: string }[];
}

/** Serialises a model to .onnx bytes (checked against the schema first). */
export function encodeModel(model: IModelProto): Uint8Array {
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`cellc wrote an invalid ONNX model: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}

/** Parses .onnx bytes into plain objects; throws protobufjs' error on malformed input (callers wrap it). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const message = onnx.ModelProto.decode(bytes);
  return onnx.ModelProto.toObject(message, { longs: Number, enums: Number, bytes: Uint8Array, arrays: false, defaults: false, oneofs: false }) as ModelProto;
}

/** A float32 tensor stored as little-endian raw data. */
export function floatTensor(name: string, dims: readonly number[], data: ArrayLike<number>): ITensorProto {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: bytes };
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): ITensorProto {
  return { name, dims: [...dims], dataType: DataType.INT64, int64Data: [...data] };
}

export function int32Tensor(name: string, dims: readonly number[], data: readonly number[]): ITensorProto {
  return { name, dims: [...dims], dataType: DataType.INT32, int32Data: [...data] };
}

export type AttrValue = number | string | readonly string[] | { ints: readonly number[] } | { floats: readonly number[] } | { graph: IGraphProto };

/** An attribute from a value: integers as INT, other numbers as FLOAT, strings, string lists, ints,
 *  floats and graphs (Scan's body). */
export function attribute(name: string, value: AttrValue): IAttributeProto {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  if (typeof value === "number") {
    return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === "string") return { name, type: AttributeType.STRING, s: enc(value) };
  if ("ints" in value) return { name, type: AttributeType.INTS, ints: [...value.ints] };
  if ("floats" in value) return { name, type: AttributeType.FLOATS, floats: [...value.floats] };
  if ("graph" in value) return { name, type: AttributeType.GRAPH, g: value.graph };
  return { name, type: AttributeType.STRINGS, strings: value.map(enc) };
}

/** A tensor's value info; a string dimension is symbolic (dim_param), a number fixed. */
export function valueInfo(name: string, dims: readonly (string | number)[] | undefined, elemType: number = DataType.FLOAT): IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}
