# The Python side of `npm run bench:torch` (test/bench/torch.ts): one process times every case, so
# the library, its thread pools and its BLAS are loaded once and every peer meets the same machine.
# Reads a JSON job (argv[1]), writes a JSON result (argv[2]); progress goes to stderr.
#
# For each case (a cell at a size) three peers:
#   cellc      the module cellc printed (`--target torch`), called as users call it;
#   cellc-jit  the same module through torch.jit.script (absent, with the reason, if it does not script);
#   ref        nn.LSTM / nn.GRU for the standard cells, else the same cell written by hand below as a
#              TorchScript loop over T with autograd (the input projection hoisted out of the loop).
# Before anything is timed the reference is given the cellc module's weights and both run the same
# input in float64: outputs, final states and every parameter's gradient of sum(y * dy) must agree
# (relative 1e-9), else the case is reported as failed and not timed: a benchmark of a wrong cell
# is worthless. Times are wall-clock milliseconds per call, every peer and mode once per round,
# rounds interleaved (the order rotating), at each thread count (torch.set_num_threads, and the
# OpenBLAS pool set to the same number when torch runs on OpenBLAS).
#   forward: the whole sequence under torch.no_grad();
#   train:   forward, then backward of sum(y * dy) for a fixed dy into the parameters' .grad.
import copy
import ctypes
import importlib.util
import json
import math
import os
import re
import sys
import time
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CHECK_TOL = 1e-9


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# ---- which BLAS torch runs on

def blas_info():
    """The BLAS and LAPACK libraries loaded into this process (torch is already imported), which
    kind they are, and OpenBLAS's thread setter when it is OpenBLAS."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path).lower()
            if any(k in base for k in ("blas", "lapack", "mkl", "blis", "atlas")):
                libs.add(os.path.realpath(path))
    libs = sorted(libs)
    text = " ".join(libs).lower()
    config = torch.__config__.show()
    if "openblas" in text:
        kind = "OpenBLAS"
    elif "mkl" in text or "BLAS_INFO=mkl" in config:
        kind = "MKL"
    elif "blis" in text:
        kind = "BLIS"
    elif "atlas" in text:
        kind = "ATLAS"
    elif libs:
        kind = "reference BLAS"  # netlib's libblas.so.3 (Debian's /usr/lib/.../blas/): unoptimized
    else:
        kind = "none found (torch's own kernels)"
    setter = None
    for lib in libs:
        if "openblas" in lib.lower():
            try:
                setter = ctypes.CDLL(lib).openblas_set_num_threads
            except (OSError, AttributeError):
                setter = None
    found = re.search(r"BLAS_INFO=[^,\s]*", config)
    blas_field = found.group(0) if found else "BLAS_INFO=?"
    return {"kind": kind, "libraries": libs, "buildInfo": blas_field, "mkldnn": torch.backends.mkldnn.is_available()}, setter


# ---- the reference cells, written by hand

@torch.jit.script
def mgu_loop(x: Tensor, h: Tensor, W_f: Tensor, U_f: Tensor, b_f: Tensor, W_h: Tensor, U_h: Tensor, b_h: Tensor) -> Tuple[Tensor, Tensor]:
    # f = sigmoid(W_f x + U_f h + b_f); n = tanh(W_h x + U_h (f h) + b_h); h' = (1 - f) h + f n
    xf = F.linear(x, W_f, b_f)
    xh = F.linear(x, W_h, b_h)
    ys: List[Tensor] = []
    for t in range(x.shape[0]):
        f = torch.sigmoid(xf[t] + torch.mm(h, U_f.t()))
        n = torch.tanh(xh[t] + torch.mm(f * h, U_h.t()))
        h = (1.0 - f) * h + f * n
        ys.append(h)
    return torch.stack(ys), h


@torch.jit.script
def slstm_loop(x: Tensor, h: Tensor, c: Tensor, n: Tensor, m: Tensor, W: Tensor, R: Tensor, b: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    # The xLSTM paper's stabilized sLSTM, one head; W, R, b stack the gates z, i, f, o.
    xp = F.linear(x, W, b)
    ys: List[Tensor] = []
    for t in range(x.shape[0]):
        pre = xp[t] + torch.mm(h, R.t())
        z_pre, i_pre, f_pre, o_pre = pre.chunk(4, 1)
        z = torch.tanh(z_pre)
        log_f = -F.softplus(-f_pre)
        o = torch.sigmoid(o_pre)
        m_new = torch.maximum(log_f + m, i_pre)
        i = torch.exp(i_pre - m_new)
        f = torch.exp(log_f + m - m_new)
        c = f * c + i * z
        n = f * n + i
        m = m_new
        h = o * c / n
        ys.append(h)
    return torch.stack(ys), h, c, n, m


class Reference:
    """A reference cell holding its own copy of the cellc module's weights (spec names)."""

    name = ""

    def parameters(self) -> List[Tensor]:
        raise NotImplementedError

    def run(self, x: Tensor) -> Tuple[Tensor, List[Tensor]]:
        raise NotImplementedError

    def grads(self) -> Dict[str, Tensor]:
        raise NotImplementedError


def leaf(t: Tensor) -> Tensor:
    return t.detach().clone().requires_grad_(True)


def split_rows(g: Tensor, names: List[str], H: int) -> Dict[str, Tensor]:
    return {n: g[k * H:(k + 1) * H] for k, n in enumerate(names)}


class TorchLSTM(Reference):
    name = "nn.LSTM"

    def __init__(self, sd: Dict[str, Tensor], I: int, H: int) -> None:
        w = sd["W_i"]
        self.H = H
        self.m = nn.LSTM(I, H).to(w.dtype)
        with torch.no_grad():  # nn.LSTM's gate order is i, f, g, o, as lstm.cell's
            self.m.weight_ih_l0.copy_(torch.cat([sd[k] for k in ("W_i", "W_f", "W_g", "W_o")]))
            self.m.weight_hh_l0.copy_(torch.cat([sd[k] for k in ("U_i", "U_f", "U_g", "U_o")]))
            self.m.bias_ih_l0.copy_(torch.cat([sd[k] for k in ("b_i", "b_f", "b_g", "b_o")]))
            self.m.bias_hh_l0.zero_()

    def parameters(self):
        return list(self.m.parameters())

    def run(self, x):
        y, (h, c) = self.m(x)
        return y, [h[0], c[0]]

    def grads(self):
        m, H = self.m, self.H
        out = split_rows(m.weight_ih_l0.grad, ["W_i", "W_f", "W_g", "W_o"], H)
        out.update(split_rows(m.weight_hh_l0.grad, ["U_i", "U_f", "U_g", "U_o"], H))
        out.update(split_rows(m.bias_ih_l0.grad, ["b_i", "b_f", "b_g", "b_o"], H))
        return out


class TorchGRU(Reference):
    name = "nn.GRU"

    def __init__(self, sd: Dict[str, Tensor], I: int, H: int) -> None:
        # nn.GRU: r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): gru_reset_after.cell.
        self.H = H
        self.m = nn.GRU(I, H).to(sd["W_z"].dtype)
        with torch.no_grad():
            self.m.weight_ih_l0.copy_(torch.cat([sd["W_r"], sd["W_z"], sd["W_n"]]))
            self.m.weight_hh_l0.copy_(torch.cat([sd["U_r"], sd["U_z"], sd["U_n"]]))
            self.m.bias_ih_l0.copy_(torch.cat([sd["b_r"], sd["b_z"], sd["b_in"]]))
            self.m.bias_hh_l0.copy_(torch.cat([torch.zeros_like(sd["b_r"]), torch.zeros_like(sd["b_z"]), sd["b_hn"]]))

    def parameters(self):
        return list(self.m.parameters())

    def run(self, x):
        y, h = self.m(x)
        return y, [h[0]]

    def grads(self):
        m, H = self.m, self.H
        out = split_rows(m.weight_ih_l0.grad, ["W_r", "W_z", "W_n"], H)
        out.update(split_rows(m.weight_hh_l0.grad, ["U_r", "U_z", "U_n"], H))
        out.update(split_rows(m.bias_ih_l0.grad, ["b_r", "b_z", "b_in"], H))
        out["b_hn"] = m.bias_hh_l0.grad[2 * H:3 * H]
        return out


class ScriptedMGU(Reference):
    name = "TorchScript loop"
    NAMES = ["W_f", "U_f", "b_f", "W_h", "U_h", "b_h"]

    def __init__(self, sd: Dict[str, Tensor], I: int, H: int) -> None:
        self.H = H
        self.p = [leaf(sd[k]) for k in self.NAMES]

    def parameters(self):
        return self.p

    def run(self, x):
        h0 = torch.zeros(x.shape[1], self.H, dtype=x.dtype)
        y, h = mgu_loop(x, h0, *self.p)
        return y, [h]

    def grads(self):
        return {k: p.grad for k, p in zip(self.NAMES, self.p)}


class ScriptedSLSTM(Reference):
    name = "TorchScript loop"
    GATES = ["z", "i", "f", "o"]

    def __init__(self, sd: Dict[str, Tensor], I: int, H: int) -> None:
        self.H = H
        self.W = leaf(torch.cat([sd["W_" + g] for g in self.GATES]))
        self.R = leaf(torch.cat([sd["R_" + g] for g in self.GATES]))
        self.b = leaf(torch.cat([sd["b_" + g] for g in self.GATES]))

    def parameters(self):
        return [self.W, self.R, self.b]

    def run(self, x):
        z = torch.zeros(x.shape[1], self.H, dtype=x.dtype)
        y, h, c, n, m = slstm_loop(x, z, z, z, z, self.W, self.R, self.b)
        return y, [h, c, n, m]

    def grads(self):
        H = self.H
        out = split_rows(self.W.grad, ["W_" + g for g in self.GATES], H)
        out.update(split_rows(self.R.grad, ["R_" + g for g in self.GATES], H))
        out.update(split_rows(self.b.grad, ["b_" + g for g in self.GATES], H))
        return out


REFERENCES = {"lstm": TorchLSTM, "gru": TorchGRU, "mgu": ScriptedMGU, "slstm": ScriptedSLSTM}


# ---- cellc's module behind the same face

class CellcPeer(Reference):
    def __init__(self, module, mod, name: str) -> None:
        self.module = module
        self.mod = mod
        self.name = name

    def parameters(self):
        return list(self.module.parameters())

    def run(self, x):
        y, final = self.module(x)
        return (y[0] if isinstance(y, tuple) else y), (list(final) if isinstance(final, tuple) else [final])

    def grads(self):
        return {spec: getattr(self.module, attr).grad for attr, spec in self.mod.PARAMS}


def load_module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rel_diff(a: Tensor, b: Tensor) -> float:
    if a.shape != b.shape:
        return math.inf
    scale = max(1.0, float(b.abs().max())) if b.numel() else 1.0
    return float((a - b).abs().max()) / scale if a.numel() else 0.0


def forward_backward(peer: Reference, x: Tensor, dy: Tensor):
    for p in peer.parameters():
        p.grad = None
    y, finals = peer.run(x)
    (y * dy).sum().backward()
    return y.detach(), [f.detach() for f in finals], peer.grads()


def check(mod, case) -> Dict[str, float]:
    """The reference against cellc's module in float64 on the same weights and data."""
    s = case["size"]
    cell = mod.Cell().double()
    ref = REFERENCES[case["cell"]](cell.cellc_state_dict(), s["I"], s["H"])
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(s["T"], s["B"], s["I"], generator=gen, dtype=torch.float64)
    dy = torch.randn(s["T"], s["B"], s["H"], generator=gen, dtype=torch.float64)
    y0, f0, g0 = forward_backward(CellcPeer(cell, mod, "cellc"), x, dy)
    y1, f1, g1 = forward_backward(ref, x, dy)
    if len(f0) != len(f1):
        raise AssertionError(f"{len(f0)} final states from cellc's module, {len(f1)} from the reference")
    out = max([rel_diff(y1, y0)] + [rel_diff(b, a) for a, b in zip(f0, f1)])
    missing = sorted(set(g0) ^ set(g1))
    if missing:
        raise AssertionError(f"gradients named differently: {missing}")
    grad = max(rel_diff(g1[k], g0[k]) for k in g0)
    if not (out <= CHECK_TOL and grad <= CHECK_TOL):
        raise AssertionError(f"{ref.name} disagrees with cellc's module in float64: outputs/final states differ by {out:.3g}, gradients by {grad:.3g} (relative; allowed {CHECK_TOL})")
    return {"outputs": out, "gradients": grad}


# ---- timing

def make_call(peer: Reference, mode: str, x: Tensor, dy: Tensor):
    params = peer.parameters()
    if mode == "forward":
        def fwd():
            with torch.no_grad():
                peer.run(x)
        return fwd

    def train():
        for p in params:
            p.grad = None
        y, _ = peer.run(x)
        (y * dy).sum().backward()
    return train


def ms_per_call(f, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) * 1000.0 / reps


def time_case(mod, case, threads: List[int], rounds: int, set_blas_threads, errors: Dict[str, str]):
    s = case["size"]
    torch.manual_seed(11)
    cell = mod.Cell()
    peers: List[Reference] = [CellcPeer(cell, mod, "cellc")]
    try:
        scripted = torch.jit.script(mod.Cell())
        scripted.load_state_dict(cell.state_dict())
        peers.append(CellcPeer(scripted, mod, "cellc-jit"))
    except Exception as e:  # the table shows the reason in place of a time
        errors["cellc-jit"] = f"torch.jit.script failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    ref = REFERENCES[case["cell"]](cell.cellc_state_dict(), s["I"], s["H"])
    ref.name = "ref"
    peers.append(ref)
    names = [p.name for p in peers]
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(s["T"], s["B"], s["I"], generator=gen)
    dy = torch.randn(s["T"], s["B"], s["H"], generator=gen)
    times: Dict[str, Dict[str, Dict[str, List[float]]]] = {}
    for n in threads:
        torch.set_num_threads(n)
        if set_blas_threads is not None:
            set_blas_threads(n)
        calls = [(peer.name, mode, make_call(peer, mode, x, dy)) for peer in peers for mode in case["modes"]]
        reps = {}
        for name, mode, f in calls:
            for _ in range(3):  # warm-up: TorchScript's profiling executor optimizes after two runs
                f()
            once = ms_per_call(f, 1)
            reps[(name, mode)] = max(1, math.ceil(case["minMs"] / max(once, 1e-3)))
        got: Dict[str, Dict[str, List[float]]] = {name: {mode: [] for mode in case["modes"]} for name in names}
        for r in range(rounds):
            k = r % len(calls)
            for name, mode, f in calls[k:] + calls[:k]:
                got[name][mode].append(ms_per_call(f, reps[(name, mode)]))
        times[str(n)] = got
        log(f"  {case['cell']} {s['name']} {n} thread{'s' if n > 1 else ''}: " + ", ".join(
            f"{name} {mode} {sorted(v)[len(v) // 2]:.2f} ms" for name in names for mode, v in got[name].items()))
    return times


def main() -> None:
    job = json.load(open(sys.argv[1]))
    blas, set_blas_threads = blas_info()
    default_threads = torch.get_num_threads()
    all_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = [all_threads if t == "all" else int(t) for t in job["threads"]]
    threads = list(dict.fromkeys(threads))
    log(f"torch {torch.__version__}, BLAS: {blas['kind']} ({', '.join(blas['libraries']) or 'no library'}), threads {threads}")
    results = []
    for k, case in enumerate(job["cases"]):
        entry = {"cell": case["cell"], "size": case["size"]["name"], "errors": {}}
        try:
            mod = load_module(case["module"], f"cellc_bench_{k}")
            entry["check"] = check(mod, case)
            entry["times"] = time_case(mod, case, threads, job["rounds"], set_blas_threads, entry["errors"])
        except Exception as e:  # reported by torch.ts, which fails the run naming the case
            entry["error"] = f"{type(e).__name__}: {e}"
            log(f"  {case['cell']} {case['size']['name']}: {entry['error']}")
        results.append(entry)
    out = {"torch": torch.__version__, "blas": blas, "threads": threads, "defaultThreads": default_threads, "results": results}
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
