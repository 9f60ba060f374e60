# The adding problem (Hochreiter & Schmidhuber 1997, experiment 4) trained in PyTorch with
# DistributedDataParallel, on a cell cellc printed from its spec (cellc build ... --target torch).
#
#   cellc build examples/specs/lstm.cell --dims I=2,H=16 --target torch --out examples/out/torch/cell.py
#   torchrun --standalone --nproc_per_node=2 examples/torch/ddp_adding.py --cell examples/out/torch/cell.py
#
# The same script runs on GPUs (--device cuda: one process per GPU, NCCL) and on several machines
# (torchrun --nnodes N --node_rank K --rdzv_backend c10d --rdzv_endpoint HOST:PORT); the README
# gives the lines. Model: the cell over the pairs -> its output at each sample's last step ->
# nn.Linear(H, 1) (cellc's Dense(1)), mean squared error, Adam, gradients clipped to norm 1, as
# cellc's own adding example. Every process draws its own sequences (seed + rank); DDP averages
# the gradients. At the end rank 0 scores a held-out set and writes, into --out:
#   model.json + .bin   the trained weights as a cellc checkpoint: the cell under layer "lstm"
#                       (its spec's name), the head as "dense/W", "dense/b" — what cellc's
#                       sequential([rnn({ spec }), dense(1)]) loads with model.load();
#   eval.json           held-out inputs, lengths, targets and this model's predictions, so cellc
#                       can check that its kernel computes the same (examples/torch/check.ts);
#   result.json         the loss curve, the score, wall time and how it ran.
import argparse
import importlib.util
import json
import math
import os
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP


def load_cell_module(path):
    spec = importlib.util.spec_from_file_location("cellc_cell", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def adding_batch(count, T, gen):
    """`count` sequences of minimal length T by the paper's rules (as studies/data/adding.ts):
    pairs (value in [-1, 1], marker); length uniform in [T, T + T // 10]; one mark among the
    first 10 pairs, one among the first T // 2 - 1 others; markers -1 on the first and last
    pair; a marked pair 0 has its value zeroed; target 0.5 + (X1 + X2) / 4. Returns time-major
    inputs [T + T // 10, count, 2] (zero past each length), lengths [count], targets [count]."""
    max_len = T + T // 10
    lengths = torch.randint(T, max_len + 1, (count,), generator=gen)
    values = torch.rand(count, max_len, generator=gen) * 2 - 1
    first = torch.randint(0, 10, (count,), generator=gen)
    k = torch.randint(0, T // 2 - 1, (count,), generator=gen)
    second = torch.where(k >= first, k + 1, k)
    rows = torch.arange(count)
    markers = torch.zeros(count, max_len)
    markers[:, 0] = -1
    markers[rows, lengths - 1] = -1
    markers[rows, first] = 1
    markers[rows, second] = 1
    values[:, 0] = torch.where((first == 0) | (second == 0), torch.zeros(count), values[:, 0])
    targets = 0.5 + (values[rows, first] + values[rows, second]) / 4
    valid = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
    x = torch.stack([values * valid, markers * valid], dim=2)
    return x.transpose(0, 1).contiguous(), lengths, targets


class AddingModel(nn.Module):
    """The cell, its output at each sample's last valid step, and a linear head."""

    def __init__(self, Cell, hidden, autograd=False):
        super().__init__()
        # The cell trains with cellc's own backward (a torch.autograd.Function); autograd=True
        # leaves it to torch's autograd instead.
        self.cell = Cell(autograd=autograd)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, lengths):
        out, _ = self.cell(x, lengths=lengths)
        last = out[lengths - 1, torch.arange(x.shape[1], device=x.device)]
        return self.head(last).squeeze(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cell", required=True, help="the .py module cellc built (--target torch)")
    ap.add_argument("--T", type=int, default=20, help="minimal sequence length (at least 20)")
    ap.add_argument("--steps", type=int, default=1500, help="optimizer steps")
    ap.add_argument("--batch", type=int, default=32, help="sequences per process per step")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--held-out", type=int, default=1000, help="held-out sequences scored at the end")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (one process per GPU)")
    ap.add_argument("--layer", default=None, help="the cell's layer name in the checkpoint (default: the spec's name)")
    ap.add_argument("--autograd", action="store_true", help="train through torch's autograd instead of cellc's backward")
    ap.add_argument("--out", default="examples/out/torch")
    a = ap.parse_args()
    if a.T < 20:
        ap.error("--T must be at least 20 (the first mark is among the first 10 pairs, the second among the first T/2 - 1)")

    started = time.perf_counter()
    cuda = a.device == "cuda"
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    else:
        # The processes share this machine's cores: one thread each.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))))

    mod = load_cell_module(a.cell)
    meta = mod.META
    if [i["size"] for i in meta["inputs"]] != [2]:
        raise SystemExit(f"{a.cell}: the adding problem feeds pairs; build the cell with I=2 (it takes {meta['inputs']})")
    hidden = meta["outputs"][0]["size"]
    torch.manual_seed(a.seed)  # the same initial weights on every process (DDP also broadcasts rank 0's)
    model = AddingModel(mod.Cell, hidden, a.autograd).to(device)
    ddp = DDP(model, device_ids=[local] if cuda else None)
    opt = torch.optim.Adam(ddp.parameters(), lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed * 1000 + rank)

    curve = []
    window = torch.zeros(2, device=device)  # loss sum, batch count since the last log
    train_started = time.perf_counter()
    for step in range(1, a.steps + 1):
        x, lengths, y = adding_batch(a.batch, a.T, gen)
        x, lengths, y = x.to(device), lengths.to(device), y.to(device)
        loss = nn.functional.mse_loss(ddp(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(ddp.parameters(), 1.0)
        opt.step()
        window += torch.stack([loss.detach(), torch.ones((), device=device)])
        if step % a.log_every == 0 or step == a.steps:
            dist.all_reduce(window)  # the mean over every process's batches
            mean = float(window[0] / window[1])
            window.zero_()
            curve.append({"step": step, "sequences": step * a.batch * world, "loss": mean})
            if rank == 0:
                print(f"step {step:5d}  sequences {step * a.batch * world:7d}  loss {mean:.5f}  {time.perf_counter() - train_started:6.1f} s", flush=True)
    train_seconds = time.perf_counter() - train_started
    # DDP keeps the replicas identical: the largest difference of any weight between processes.
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    hi, lo = flat.clone(), flat.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    replica_diff = float((hi - lo).max())

    if rank == 0:
        os.makedirs(a.out, exist_ok=True)
        model.eval()
        eval_gen = torch.Generator().manual_seed(a.seed * 1000 + 777)
        x, lengths, y = adding_batch(a.held_out, a.T, eval_gen)
        with torch.no_grad():
            pred = model(x.to(device), lengths.to(device)).cpu()
        err = (pred - y).abs()
        layer = a.layer or meta["name"]
        weights = {f"{layer}/{k}": v for k, v in model.cell.cellc_state_dict().items()}
        weights["dense/W"] = model.head.weight.detach()
        weights["dense/b"] = model.head.bias.detach()
        header = mod.write_cellc_weights(os.path.join(a.out, "model"), weights)
        with open(os.path.join(a.out, "eval.json"), "w") as f:
            json.dump({"T": a.T, "x": x.transpose(0, 1).reshape(-1).tolist(), "shape": [a.held_out, x.shape[0], 2], "lengths": lengths.tolist(), "targets": y.tolist(), "predictions": pred.tolist()}, f)
        result = {
            "cell": meta["name"],
            "dims": meta["dims"],
            "params": sum(p.numel() for p in model.parameters()),
            "world_size": world,
            "backend": dist.get_backend(),
            "device": str(device),
            "threads_per_process": torch.get_num_threads(),
            "T": a.T,
            "steps": a.steps,
            "batch_per_process": a.batch,
            "sequences": a.steps * a.batch * world,
            "lr": a.lr,
            "seed": a.seed,
            "curve": curve,
            "replica_max_diff": replica_diff,
            "held_out": {"count": a.held_out, "mean_abs_error": float(err.mean()), "solved": float((err < 0.04).float().mean())},
            "train_seconds": train_seconds,
            "wall_seconds": time.perf_counter() - started,
            "checkpoint": header,
            "torch": torch.__version__,
        }
        with open(os.path.join(a.out, "result.json"), "w") as f:
            json.dump(result, f, indent=1)
        print(f"held-out: mean |error| {result['held_out']['mean_abs_error']:.4f}, solved {100 * result['held_out']['solved']:.1f}% "
              f"of {a.held_out}; {world} processes, {train_seconds:.1f} s training; weights in {header}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
