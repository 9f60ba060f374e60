# The fuzzer's torch build (test/fuzz/torch-build.ts): a long-lived process that runs cellc's
# PyTorch modules of random cells. One JSON request per line on stdin, one JSON answer per line on
# stdout; it ends when stdin closes. A request names a generated module file and holds one problem
# (parameters by spec name, inputs [T, B, n], initial states [B, n], optional lengths and state
# masks, and the loss's weights); the answer holds, in float64 (module.double()), the outputs and
# final states in the module's order and the gradients of sum(outputs·wOut) + sum(final·wFinal)
# with respect to the parameters, inputs and initial states. Non-finite numbers travel as strings.
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from cellc_torch import as_list, call_cell, load_module, pack  # noqa: E402 (test/helpers, just put on the path)

torch.set_num_threads(1)
DT = torch.float64


def num(v: float):
    return v if math.isfinite(v) else ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))


def flat(t):
    return [num(v) for v in t.detach().reshape(-1).tolist()]


def run(req, n: int):
    mod = load_module(req["module"], f"cellc_fuzz_{n}")
    meta = mod.META
    T, B = req["T"], req["B"]
    cell = mod.Cell().to(DT)
    cell.load_cellc_state_dict({p["name"]: torch.tensor(req["params"][p["name"]], dtype=DT).reshape(p["shape"]) for p in meta["params"]})
    inputs = [torch.tensor(req["inputs"][i["name"]], dtype=DT).reshape(T, B, i["size"]).requires_grad_(True) for i in meta["inputs"]]
    states = [torch.tensor(req["init"][s["name"]], dtype=DT).reshape(B, s["size"]).requires_grad_(True) for s in meta["states"]]
    masks = None
    if req.get("masks") is not None and meta["states"]:
        masks = pack([torch.tensor(req["masks"][s["name"]], dtype=DT).reshape(B, s["size"]) for s in meta["states"]])
    lengths = torch.tensor(req["lengths"], dtype=torch.int64) if req.get("lengths") is not None else None
    state = pack(states) if states else ()
    out, final = call_cell(cell, T, B, inputs, state, lengths, masks)
    outs, finals = as_list(out), as_list(final)
    loss = torch.zeros((), dtype=DT)
    for o, m in zip(outs, meta["outputs"]):
        loss = loss + (o * torch.tensor(req["wOut"][m["name"]], dtype=DT).reshape(o.shape)).sum()
    for f, s in zip(finals, meta["states"]):
        loss = loss + (f * torch.tensor(req["wFinal"][s["name"]], dtype=DT).reshape(f.shape)).sum()
    leaves = [t for t in list(cell.parameters()) + inputs + states]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True) if loss.requires_grad else [None] * len(leaves)
    by_leaf = {id(t): g for t, g in zip(leaves, grads)}

    def grad(t):
        g = by_leaf.get(id(t))
        return flat(g) if g is not None else [0.0] * t.numel()

    return {
        "outputs": {m["name"]: flat(o) for o, m in zip(outs, meta["outputs"])},
        "final": {s["name"]: flat(f) for f, s in zip(finals, meta["states"])},
        "grads": {
            "params": {spec: grad(getattr(cell, attr)) for attr, spec in mod.PARAMS},
            "inputs": {i["name"]: grad(x) for x, i in zip(inputs, meta["inputs"])},
            "initialState": {s["name"]: grad(x) for x, s in zip(states, meta["states"])},
        },
    }


def main() -> None:
    sys.stdout.write(json.dumps({"ready": torch.__version__}) + "\n")
    sys.stdout.flush()
    n = 0
    for line in sys.stdin:
        n += 1
        try:
            answer = run(json.loads(line), n)
        except Exception as e:  # the fuzzer reports it as the torch build's failure, naming the case
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer, allow_nan=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
