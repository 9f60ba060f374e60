// The ONNX escaper. An ONNX model is protobuf, not text: a string field holds any UTF-8, so a
// string needs only what UTF-8 can hold (a lone surrogate becomes U+FFFD here rather than silently
// in the encoder); doc strings, read by people in viewers such as Netron, show control characters
// as escapes.

import { visible } from "../../grammar/visible.ts";
import { wellFormed, type Escaper } from "../escaper.ts";

export const onnxEscaper: Escaper = { language: "ONNX", string: wellFormed, comment: visible };
