# The Python side of test/torch-weights.test.ts: reads a JSON list of jobs (argv[1]), writes a
# JSON list of results (argv[2]). Jobs:
#   "roundtrip": a generated module loads a cellc checkpoint (load_cellc, layer found by itself
#       or named), runs forward, changes its weights (w * scale + shift), runs forward again and
#       writes them back: save_cellc (optionally under a layer) and a JSON state_dict whose keys
#       carry the "module." prefix a DistributedDataParallel wrapper gives them.
#   "reject": load_cellc on a file that must be refused; hands back the error message.
import json
import sys

import torch
from cellc_torch import load_module


def flat(t):
    return t.detach().reshape(-1).tolist()


def roundtrip(job, i):
    mod = load_module(job["module"], f"cellc_w_{i}")
    cell = mod.Cell()
    cell.load_cellc(job["load"], job.get("layer"))
    x = torch.tensor(job["x"], dtype=torch.float32).reshape(job["T"], job["B"], mod.META["inputs"][0]["size"])
    with torch.no_grad():
        before, _ = cell(x)
        for p in cell.parameters():
            p.mul_(job["scale"]).add_(job["shift"])
        after, _ = cell(x)
    cell.save_cellc(job["saveTo"], job.get("saveLayer"))
    wrapper = torch.nn.Module()
    wrapper.module = cell
    with open(job["jsonTo"], "w") as f:
        json.dump({k: v.tolist() for k, v in wrapper.state_dict().items()}, f)
    return {
        "before": flat(before),
        "after": flat(after),
        "params": {spec: flat(t) for spec, t in cell.cellc_state_dict().items()},
        "keys": list(cell.state_dict().keys()),
    }


def reject(job, i):
    mod = load_module(job["module"], f"cellc_r_{i}")
    cell = mod.Cell()
    before = [p.detach().clone() for p in cell.parameters()]
    try:
        cell.load_cellc(job["load"], job.get("layer"))
        return {"message": None}
    except mod.CellcWeightsError as e:
        unchanged = all(bool((a == b).all()) for a, b in zip(before, cell.parameters()))
        return {"message": str(e), "unchanged": unchanged}


def main():
    jobs = json.load(open(sys.argv[1]))
    results = []
    for i, job in enumerate(jobs):
        try:
            results.append(roundtrip(job, i) if job["kind"] == "roundtrip" else reject(job, i))
        except Exception as e:
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump({"torch": torch.__version__, "results": results}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
