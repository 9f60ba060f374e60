# The Python side of the PyTorch-backend tests, run once per test file over many cases: reads a
# JSON list of jobs (argv[1]), writes a JSON list of results (argv[2]). Jobs:
#   "cell": load a generated module, set its parameters by spec name, run forward on the given
#           inputs, initial states, lengths and masks, backpropagate a seeded loss, and hand back
#           outputs, final states and every gradient; the same through torch.jit.script and with
#           batch_first=True (the TypeScript test compares all of it with the cellc kernel).
#   "formula": evaluate each registry primitive's torch formula in float64 on a grid.
#   "errors": call a module wrongly and hand back the error messages.
import json
import math
import sys
import time

import torch

from cellc_torch import as_list, call_cell, load_module, pack

torch.set_num_threads(1)


def flat(t):
    return t.detach().reshape(-1).tolist()


def tensor(values, shape, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype).reshape(shape)


def call(cell, job, inputs, state, lengths, masks):
    return call_cell(cell, job["T"], job["B"], inputs, state, lengths, masks)


def forward_backward(mod, job, dtype, autograd=False, unmasked=False):
    """Forward on the job's data in `dtype`, then backward of the seeded loss; the cell and tensors.
    autograd: torch's autograd through the forward (Cell(autograd=True)) instead of cellc's backward;
    unmasked: without lengths and masks."""
    meta = mod.META
    T, B = job["T"], job["B"]
    cell = mod.Cell(autograd=autograd).to(dtype)
    cell.load_cellc_state_dict({p["name"]: tensor(job["params"][p["name"]], p["shape"], dtype) for p in meta["params"]})
    inputs = [tensor(v, [T, B, i["size"]], dtype).requires_grad_(True) for v, i in zip(job["inputs"], meta["inputs"])]
    states = [tensor(v, [B, s["size"]], dtype).requires_grad_(True) for v, s in zip(job["state"], meta["states"])]
    masks = [tensor(v, [B, s["size"]], dtype) for v, s in zip(job["masks"], meta["states"])] if job.get("masks") and not unmasked else None
    lengths = torch.tensor(job["lengths"], dtype=torch.int64) if job.get("lengths") is not None and not unmasked else None
    state_arg = pack(states) if states else ()
    mask_arg = pack(masks) if masks else None
    out, final = call(cell, job, inputs, state_arg, lengths, mask_arg)
    outs, finals = as_list(out), as_list(final)
    loss = sum((o * tensor(s, o.shape, dtype)).sum() for o, s in zip(outs, job["seedOutputs"]))
    loss = loss + sum((f * tensor(s, f.shape, dtype)).sum() for f, s in zip(finals, job["seedStates"]))
    loss.backward()

    def grad(t):
        return flat(t.grad) if t.grad is not None else [0.0] * t.numel()

    result = {
        "outputs": [flat(o) for o in outs],
        "final": [flat(f) for f in finals],
        "grads": {
            "params": {spec: grad(getattr(cell, attr)) for attr, spec in mod.PARAMS},
            "inputs": [grad(x) for x in inputs],
            "initial": [grad(s) for s in states],
        },
    }
    return result, cell, inputs, states, lengths, mask_arg, outs, finals


def run_cell(job, index):
    mod = load_module(job["module"], f"cellc_case_{index}")
    result, cell, inputs, states, lengths, mask_arg, outs, finals = forward_backward(mod, job, torch.float32)
    # torch.jit.script accepts the module and computes the same.
    scripted = torch.jit.script(cell)
    with torch.no_grad():
        s_out, s_final = call(scripted, job, [x.detach() for x in inputs], pack([s.detach() for s in states]) if states else (), lengths, mask_arg)
    result["scripted"] = {"outputs": [flat(o) for o in as_list(s_out)], "final": [flat(f) for f in as_list(s_final)]}
    # batch_first=True on [B, T, n] inputs gives the transposed outputs.
    if inputs:
        cell.batch_first = True
        with torch.no_grad():
            b_out, b_final = call(cell, job, [x.detach().transpose(0, 1) for x in inputs], pack([s.detach() for s in states]) if states else (), lengths, mask_arg)
        cell.batch_first = False
        diffs = [float((b.transpose(0, 1) - o).abs().max()) for b, o in zip(as_list(b_out), outs)]
        diffs += [float((b - f).abs().max()) for b, f in zip(as_list(b_final), finals)]
        result["batchFirstDiff"] = max(diffs) if diffs else 0.0
    # The same module in float64 (module.double()), against the float64 kernel: the translation
    # itself, without float32 rounding.
    if job.get("double"):
        result["double"] = forward_backward(mod, job, torch.float64)[0]
        # torch's autograd through the same forward (Cell(autograd=True)): another derivative.
        result["autograd"] = forward_backward(mod, job, torch.float64, autograd=True)[0]
        # Without lengths and masks the module runs its unmasked forward; cellc's backward and
        # autograd's must still agree.
        result["unmasked"] = forward_backward(mod, job, torch.float64, unmasked=True)[0]
        result["unmaskedAutograd"] = forward_backward(mod, job, torch.float64, autograd=True, unmasked=True)[0]
    if job.get("gradcheck"):
        result["gradcheck"] = gradcheck(mod, job)
    return result


def gradcheck(mod, job):
    """torch.autograd.gradcheck of the module in float64, with lengths and masks and without:
    cellc's backward against finite differences of its forward. Small data: T=3, B=2."""
    from torch.nn.utils import stateless

    meta = mod.META
    T, B = 3, 2
    torch.manual_seed(0)
    cell = mod.Cell().double()
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in cell.named_parameters()]
    inputs = [torch.randn(T, B, i["size"], dtype=torch.float64, requires_grad=True) for i in meta["inputs"]]
    states = [(0.5 * torch.randn(B, s["size"], dtype=torch.float64)).requires_grad_(True) for s in meta["states"]]
    masks = [1 + 0.5 * torch.rand(B, s["size"], dtype=torch.float64) for s in meta["states"]]
    out = []
    for lengths, mask_arg in [(torch.tensor([T, 1]), pack(masks) if masks else None), (None, None)]:
        def f(*args):
            ps = dict(zip(names, args[: len(names)]))
            xs = list(args[len(names) : len(names) + len(inputs)])
            ss = list(args[len(names) + len(inputs) :])
            kw = {"state": pack(ss) if ss else (), "lengths": lengths, "state_masks": mask_arg}
            if not xs:
                kw["batch_size"] = B
            y, st = stateless.functional_call(cell, ps, tuple(xs) if xs else (T,), kw)
            return tuple(as_list(y) + as_list(st))
        out.append(bool(torch.autograd.gradcheck(f, tuple(params + inputs + states), eps=1e-6, atol=1e-7, rtol=1e-5)))
    return out


def run_formula(job):
    """Each primitive's torch formula in float64 over the operand grid; NaN stays NaN."""
    out = {}
    for prim in job["primitives"]:
        names = [f"a{k}" for k in range(prim["arity"])]
        values = []
        for args in prim["grid"]:
            env = {"torch": torch, "math": math}
            for n, v in zip(names, args):
                env[n] = torch.tensor([float(v)], dtype=torch.float64)
            r = eval(prim["formula"], env)
            values.append(float(r.reshape(-1)[0]) if isinstance(r, torch.Tensor) else float(r))
        # Numbers as text: JSON has no NaN or infinities.
        out[prim["op"]] = ["NaN" if math.isnan(v) else "Infinity" if v == math.inf else "-Infinity" if v == -math.inf else repr(v) for v in values]
    return out


def run_errors(job, index):
    mod = load_module(job["module"], f"cellc_errors_{index}")
    cell = mod.Cell()
    messages = []
    for case in job["calls"]:
        x = torch.zeros(case["x"])
        kwargs = {}
        if "lengths" in case:
            kwargs["lengths"] = torch.tensor(case["lengths"])
        if "state" in case:
            kwargs["state"] = tuple(torch.zeros(s) for s in case["state"])
        try:
            cell(x, **kwargs)
            messages.append(None)
        except ValueError as e:
            messages.append(str(e))
    return messages


def main():
    jobs = json.load(open(sys.argv[1]))
    results = []
    timings = []
    for i, job in enumerate(jobs):
        t0 = time.perf_counter()
        try:
            if job["kind"] == "cell":
                results.append(run_cell(job, i))
            elif job["kind"] == "formula":
                results.append(run_formula(job))
            elif job["kind"] == "errors":
                results.append(run_errors(job, i))
            else:
                results.append({"error": f"unknown job kind {job['kind']}"})
        except Exception as e:  # reported to the TypeScript test, which fails naming the case
            results.append({"error": f"{type(e).__name__}: {e}"})
        timings.append(time.perf_counter() - t0)
    json.dump({"torch": torch.__version__, "results": results, "seconds": timings}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
