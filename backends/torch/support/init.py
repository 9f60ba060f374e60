# Initializers of the PyTorch backend's modules, with cellc's conventions (runtime/init.ts): a
# matrix [out, in] has fan_out = out and fan_in = in, a vector [n] counts n both ways; glorot is
# Glorot-uniform; orthogonal gives orthonormal rows (or columns), a vector a unit vector. Random
# numbers come from torch's generator (torch.manual_seed), so values differ from cellc's, not
# their distribution. Inlined into every generated module after the marker line.
import math

import torch
from torch import Tensor

# ---- inline from here


def _cellc_fans(p: Tensor):
    if p.dim() == 2:
        return p.shape[1], p.shape[0]
    return p.numel(), p.numel()


def _cellc_glorot_(p: Tensor) -> None:
    fan_in, fan_out = _cellc_fans(p)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    torch.nn.init.uniform_(p, -limit, limit)


def _cellc_orthogonal_(p: Tensor) -> None:
    rows = p.shape[0] if p.dim() == 2 else 1
    torch.nn.init.orthogonal_(p.view(rows, -1))
