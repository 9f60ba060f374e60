# Fits the polynomials of the float32 erf and gelu approximations (compiler/primitives/
# fastmath-fits.ts) by Lawson's iteratively reweighted least squares, which converges to the
# minimax (equal-ripple) fit, and prints them with their error in float64 and, evaluated by
# Horner's rule in float32 with float32 coefficients, in float32. Needs numpy and scipy.
#   python3 scripts/fit-erf.py
import numpy as np
from scipy.special import erf, erfcx

N = 4000


def nodes(lo, hi):
    return np.cos(np.linspace(0, np.pi, N)) * (hi - lo) / 2 + (hi + lo) / 2


def lawson(s, target, deg, weight, iters=80):
    a = np.vander(s, deg + 1, increasing=True)
    lw = np.full(len(s), 1 / len(s))
    for _ in range(iters):
        w = np.sqrt(lw) * weight
        c, *_ = np.linalg.lstsq(a * w[:, None], target * w, rcond=None)
        e = np.abs((a @ c - target) * weight)
        lw = lw * e
        lw /= lw.sum()
    return c, e.max()


def horner32(c, s):
    c = [np.float32(v) for v in c]
    s = s.astype(np.float32)
    p = np.full_like(s, c[-1])
    for k in range(len(c) - 2, -1, -1):
        p = (p * s).astype(np.float32) + c[k]
    return p.astype(np.float64)


# |x| <= 1: erf(x) = x + x·P(x²); P's relative error.
x = nodes(1e-4, 1.0)
z = x * x
c, e = lawson(z, erf(x) / x - 1, 6, np.ones_like(z))
e32 = np.abs(horner32(c, z.astype(np.float32)) - (erf(x) / x - 1)).max()
print("ERF_P", [float(v) for v in c], "error", e, "float32", e32)

# |x| >= 1 (t = 1/|x| in [0.09, 1]): erfc(|x|) = e^-x² · t · R(t - 0.5); R's relative error.
t = nodes(0.09, 1.0)
r = erfcx(1 / t) / t
c, e = lawson(t - 0.5, r, 11, 1 / r)
e32 = np.abs((horner32(c, (t.astype(np.float32) - np.float32(0.5)).astype(np.float32)) - r) / r).max()
print("ERFC_R", [float(v) for v in c], "error", e, "float32", e32)
