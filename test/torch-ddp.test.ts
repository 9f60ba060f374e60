// The distributed example, small: the lstm spec printed as a PyTorch module, trained on the adding
// problem with DistributedDataParallel over 2 CPU processes (torchrun, gloo) for 60 steps; its
// loss falls, every process ends with the same weights (DDP), and the checkpoint it writes,
// loaded into a cellc model, reproduces the torch model's held-out predictions.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backInCellc, trainInTorch, type DdpOptions, type DdpResult } from "../examples/torch/run.ts";
import { findTorch, torchName, scratchDir, type TorchEnv } from "./helpers/torch.ts";

const torch = findTorch();

describe.skipIf(typeof torch === "string")(torchName("DDP example (2 processes, gloo)", torch), () => {
  let scratch: ReturnType<typeof scratchDir> | undefined;
  const o: DdpOptions = {
    spec: "lstm",
    H: 8,
    T: 20,
    steps: 60,
    batch: 16,
    lr: 0.01,
    seed: 3,
    nproc: 2,
    heldOut: 200,
    logEvery: 20,
    out: "",
    python: (torch as TorchEnv).python,
    log: () => undefined,
  };
  let result: DdpResult;
  beforeAll(() => {
    scratch = scratchDir("cellc-torch-ddp-");
    o.out = scratch.dir;
  });
  afterAll(() => scratch?.remove());

  it("trains: the loss of the last 20 steps is well below the first 20's", async () => {
    result = await trainInTorch(o);
    expect(result.world_size).toBe(2);
    expect(result.sequences).toBe(60 * 16 * 2);
    expect(result.curve.map((c) => c.step)).toEqual([20, 40, 60]);
    const [first, , last] = result.curve.map((c) => c.loss);
    expect(last!).toBeLessThan(0.6 * first!);
    expect(result.replica_max_diff).toBe(0);
  });

  it("the weights come back: a cellc model with the checkpoint predicts what the torch model predicted", async () => {
    const back = await backInCellc(o, result);
    expect(back.relDiff).toBeLessThan(1e-5);
    expect(back.cellc.meanAbsError).toBeCloseTo(result.held_out.mean_abs_error, 5);
    expect(back.cellc.fractionSolved * o.heldOut).toBeCloseTo(result.held_out.solved * o.heldOut, 3); // the same sequences solved
  });
});
