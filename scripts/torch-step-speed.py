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

import torch

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


runs = {"cellc (its own backward)": cellc(False), "cellc Cell(autograd=True): torch autograd through the forward": cellc(True)}
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
print(f"T={T} B={B} I={I} H={H}, {torch.get_num_threads()} thread(s), torch {torch.__version__}, BLAS: {'OpenBLAS' if 'openblas' in torch.__config__.show().lower() else 'see torch.__config__.show()'}")
for k in runs:
    print(f"  {k:70s} forward {statistics.median(times[(k, False)]) * 1e3:7.1f} ms   training step {statistics.median(times[(k, True)]) * 1e3:7.1f} ms")
