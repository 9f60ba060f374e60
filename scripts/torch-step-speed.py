# A quick speed check of a generated PyTorch module (cellc build --target torch) against
# torch's own cells: forward and training step (forward + backward of sum(y * dy) + the final
# states'), medians of interleaved runs, one thread unless THREADS says otherwise. Not a test.
#
#   python3 scripts/torch-step-speed.py MODULE.py [lstm|gru|none] [T B I H]
import importlib.util
import os
import statistics
import sys
import time

# Debian's torch calls the system OpenBLAS, whose own thread pool torch.set_num_threads does not
# size: without this, "one thread" products run on OpenBLAS's threads (4x slower per-step
# products on a busy machine, measured).
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("THREADS", "1"))

import torch  # noqa: E402

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
path, kind = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "none"
T, B, I, H = (int(v) for v in sys.argv[3:7]) if len(sys.argv) > 6 else (50, 32, 64, 128)
spec = importlib.util.spec_from_file_location("cell", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
torch.manual_seed(0)
x = torch.randn(T, B, I)
states = [torch.zeros(B, s["size"]) for s in mod.META["states"]]
dy = torch.randn(T, B, mod.META["outputs"][0]["size"])


def cellc(autograd):
    cell = mod.Cell(autograd=autograd)

    def run(train):
        if train:
            y, st = cell(x, state=tuple(states) if len(states) > 1 else states[0])
            y = y[0] if isinstance(y, tuple) else y
            st = list(st) if isinstance(st, tuple) else [st]
            ((y * dy).sum() + sum(s.sum() for s in st)).backward()
        else:
            with torch.no_grad():
                cell(x, state=tuple(states) if len(states) > 1 else states[0])

    return run


def native(kind):
    m = torch.nn.LSTM(I, H) if kind == "lstm" else torch.nn.GRU(I, H)
    h0 = torch.zeros(1, B, H)

    def run(train):
        if train:
            y, st = m(x, (h0, h0) if kind == "lstm" else h0)
            st = list(st) if isinstance(st, tuple) else [st]
            ((y * dy).sum() + sum(s.sum() for s in st)).backward()
        else:
            with torch.no_grad():
                m(x, (h0, h0) if kind == "lstm" else h0)

    return run


def scripted_autograd():
    """The module's own forward, compiled by TorchScript, under torch's autograd: the same cell as
    an autograd TorchScript loop."""
    cell = mod.Cell()
    fwd = next(getattr(mod, k) for k in dir(mod) if k.endswith("_forward_unmasked_script"))
    params = [p for p in cell.parameters()]
    n_out = len(mod.META["outputs"])
    masks = [torch.ones_like(s) for s in states]
    active = torch.ones(T, B, 1)

    def run(train):
        with torch.set_grad_enabled(train):
            r = fwd(x, *states, *masks, active, *params)
            if train:
                y, st = r[0], r[n_out : n_out + len(states)]
                ((y * dy).sum() + sum(s.sum() for s in st)).backward()

    return run


def blas():
    """Debian's torch calls the system BLAS (BLAS_INFO=generic): name what libblas.so.3 points to."""
    link = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
    return os.path.realpath(link) if os.path.exists(link) else "BLAS_INFO in torch.__config__.show()"


runs = {
    "cellc (its own backward)": cellc(False),
    "cellc Cell(autograd=True): torch autograd, eager": cellc(True),
    "cellc forward in TorchScript under torch autograd": scripted_autograd(),
}
if kind in ("lstm", "gru"):
    runs[f"nn.{kind.upper()}"] = native(kind)
times = {(k, train): [] for k in runs for train in (False, True)}
for r in runs.values():  # warm up (TorchScript profiles its first runs)
    for _ in range(3):
        r(False)
        r(True)
for _ in range(int(os.environ.get("REPS", "15"))):
    for k, r in runs.items():
        for train in (False, True):
            t0 = time.perf_counter()
            r(train)
            times[(k, train)].append(time.perf_counter() - t0)
print(f"T={T} B={B} I={I} H={H}, {torch.get_num_threads()} thread(s), torch {torch.__version__}, BLAS: {blas()}")
for k in runs:
    print(f"  {k:70s} forward {statistics.median(times[(k, False)]) * 1e3:7.1f} ms   training step {statistics.median(times[(k, True)]) * 1e3:7.1f} ms")
