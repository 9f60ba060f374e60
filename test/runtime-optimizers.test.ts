// Optimizer updates against values computed by hand on a two-weight case, and clipping by
// global norm.
import { describe, expect, it } from "vitest";
import { adam, clipByGlobalNorm, globalNorm, rmsprop, sgd, type Param } from "../runtime/index.ts";

function param(values: number[], grads: number[]): Param {
  return { name: "w", shape: [values.length], value: Float32Array.from(values), grad: Float32Array.from(grads) };
}

describe("optimizers", () => {
  it("SGD: w -= lr * g", () => {
    const p = param([1, -2], [0.5, -1]);
    sgd({ learningRate: 0.1 }).step([p]);
    expect(p.value[0]).toBeCloseTo(1 - 0.05, 6);
    expect(p.value[1]).toBeCloseTo(-2 + 0.1, 6);
  });

  it("SGD with momentum, two steps", () => {
    const p = param([1], [0.5]);
    const o = sgd({ learningRate: 0.1, momentum: 0.9 });
    o.step([p]); // v = -0.05, w = 0.95
    expect(p.value[0]).toBeCloseTo(0.95, 6);
    p.grad[0] = 0.2;
    o.step([p]); // v = 0.9 * -0.05 - 0.02 = -0.065, w = 0.885
    expect(p.value[0]).toBeCloseTo(0.885, 6);
  });

  it("SGD with Nesterov momentum, two steps", () => {
    const p = param([1], [0.5]);
    const o = sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true });
    o.step([p]); // v = -0.05; w = 1 + 0.9 * -0.05 - 0.05 = 0.905
    expect(p.value[0]).toBeCloseTo(0.905, 6);
    p.grad[0] = 0.2;
    o.step([p]); // v = -0.065; w = 0.905 + 0.9 * -0.065 - 0.02 = 0.8265
    expect(p.value[0]).toBeCloseTo(0.8265, 6);
  });

  it("RMSprop with Keras defaults (rho 0.9, eps 1e-7), two steps", () => {
    const p = param([1], [0.5]);
    const o = rmsprop({ learningRate: 0.01 });
    o.step([p]);
    // ms = 0.1 * 0.25 = 0.025; w = 1 - 0.01 * 0.5 / sqrt(0.025 + 1e-7)
    const w1 = 1 - (0.01 * 0.5) / Math.sqrt(0.025 + 1e-7);
    expect(p.value[0]).toBeCloseTo(w1, 6);
    p.grad[0] = -1;
    o.step([p]);
    // ms = 0.9 * 0.025 + 0.1 * 1 = 0.1225; w = w1 + 0.01 / sqrt(0.1225 + 1e-7)
    expect(p.value[0]).toBeCloseTo(w1 + 0.01 / Math.sqrt(0.1225 + 1e-7), 6);
  });

  it("Adam with Keras defaults, two steps", () => {
    const p = param([1, 0], [0.5, -0.1]);
    const o = adam({ learningRate: 0.01 });
    o.step([p]);
    // t = 1: m = 0.1 g, v = 0.001 g^2, alpha = 0.01 * sqrt(0.001) / 0.1; step = alpha * m / (sqrt(v) + eps) ~ 0.01 * sign(g)
    const a1 = (0.01 * Math.sqrt(1 - 0.999)) / (1 - 0.9);
    const w0 = 1 - (a1 * 0.05) / (Math.sqrt(0.001 * 0.25) + 1e-7);
    expect(p.value[0]).toBeCloseTo(w0, 6);
    expect(p.value[0]).toBeCloseTo(0.99, 4);
    expect(p.value[1]).toBeCloseTo(0.01, 4);
    p.grad[0] = 0.2;
    o.step([p]);
    const m = 0.9 * 0.05 + 0.1 * 0.2;
    const v = 0.999 * 0.00025 + 0.001 * 0.04;
    const a2 = (0.01 * Math.sqrt(1 - 0.999 ** 2)) / (1 - 0.9 ** 2);
    expect(p.value[0]).toBeCloseTo(w0 - (a2 * m) / (Math.sqrt(v) + 1e-7), 6);
  });

  it("clipping scales every gradient by maxNorm / global norm", () => {
    const a = param([0, 0], [3, 0]);
    const b = param([0], [4]);
    expect(globalNorm([a, b])).toBeCloseTo(5, 6);
    const before = clipByGlobalNorm([a, b], 1);
    expect(before).toBeCloseTo(5, 6);
    expect(Array.from(a.grad)).toEqual([expect.closeTo(0.6, 6), 0]);
    expect(b.grad[0]).toBeCloseTo(0.8, 6);
    expect(globalNorm([a, b])).toBeCloseTo(1, 6);
    // Below the threshold nothing changes.
    clipByGlobalNorm([a, b], 10);
    expect(b.grad[0]).toBeCloseTo(0.8, 6);
  });

  it("rejects bad hyperparameters clearly", () => {
    expect(() => sgd({ learningRate: -1 })).toThrow(/learningRate must be a positive number/);
    expect(() => rmsprop({ rho: 1 })).toThrow(/rho must be in \[0, 1\)/);
    expect(() => clipByGlobalNorm([], 0)).toThrow(/clipNorm/);
  });
});
