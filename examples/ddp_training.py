"""Data-parallel training of a hybrid model with torch's DistributedDataParallel.

The model is ``Linear(64 -> q)``, a data re-uploading :class:`hybridq.nn.QuantumLayer` on ``q``
qubits (``<Z>`` of each) and ``Linear(q -> 10)``, trained on scikit-learn's 8x8 digits. Each
of ``--procs`` processes takes its slice of every global batch; DDP averages the gradients,
so the weights must equal those of single-process training on the whole batches from the
same seed. The script trains both ways and reports the largest weight difference. It trains
in float64 by default: in float32, Adam turns rounding noise in the gradients of weights that
do not affect the output (the last RZ before a Z read-out) into steps of the learning rate, so
those weights drift apart while losses and predictions agree. Run:

    python examples/ddp_training.py --procs 2 --epochs 3                    # gloo on CPUs
    python examples/ddp_training.py --procs 2 --epochs 3 --backend nccl     # one GPU per process

The NCCL variant has not been run yet (no multi-GPU machine was available). Writes
``ddp_training.json``.
"""

from __future__ import annotations

import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from _common import parser, save_results, seed_everything, setup
from hybridq.circuits.ansatz import data_reuploading
from hybridq.datasets import load_digits
from hybridq.nn import QuantumLayer
from hybridq.progress import progress
from hybridq.sim.distributed import launch


def build_model(args, device=None) -> torch.nn.Module:
    """The hybrid model, initialised from ``args.seed``."""
    seed_everything(args.seed)
    dtype = getattr(torch, args.dtype)
    circuit = data_reuploading(args.qubits, args.qubits, args.layers)
    return torch.nn.Sequential(
        torch.nn.Linear(64, args.qubits, dtype=dtype), torch.nn.Tanh(),
        QuantumLayer(circuit, dtype=dtype), torch.nn.Linear(args.qubits, 10, dtype=dtype),
    ).to(device)


def data(args, device=None) -> tuple[torch.Tensor, ...]:
    x_tr, y_tr, x_te, y_te = load_digits(train_size=args.train_size, seed=args.seed)
    dtype = getattr(torch, args.dtype)
    return tuple(t.to(device) for t in (x_tr.reshape(-1, 64).to(dtype), y_tr, x_te.reshape(-1, 64).to(dtype), y_te))


def train(model, x, y, args, *, rank: int = 0, world: int = 1) -> dict:
    """Adam on the global batches of ``args.seed``; this rank computes on its slice of each."""
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    start = time.perf_counter()
    for epoch in progress(range(args.epochs), desc=f"rank {rank}/{world}", disable=args.no_progress or rank > 0):
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(args.seed + epoch))
        total = torch.zeros((), dtype=torch.float64, device=x.device)
        for i in range(0, len(order) - args.batch + 1, args.batch):  # whole batches only
            mine = order[i : i + args.batch].chunk(world)[rank].to(x.device)
            loss = torch.nn.functional.cross_entropy(model(x[mine]), y[mine])
            opt.zero_grad()
            loss.backward()  # under DDP: gradients averaged over the ranks = the whole batch's gradient
            opt.step()
            total += loss.detach().to(torch.float64) / world
        if world > 1:
            dist.all_reduce(total)
        losses.append(float(total) / (len(order) // args.batch))
    return {"losses": losses, "seconds_per_epoch": (time.perf_counter() - start) / max(1, args.epochs)}


def worker(rank: int, world: int, args) -> dict:
    """One DDP process: the same model and batches everywhere, a slice of each batch here."""
    device = torch.device("cuda", torch.cuda.current_device()) if args.backend == "nccl" else torch.device("cpu")
    x, y, _, _ = data(args, device)
    model = build_model(args, device)
    ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    out = train(ddp, x, y, args, rank=rank, world=world)
    out["weights"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return out


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).double().mean())


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=3)
    p.add_argument("--procs", type=int, default=2, help="DDP processes (default 2)")
    p.add_argument("--backend", choices=["gloo", "nccl"], default="gloo", help="gloo (CPU) or nccl (GPUs)")
    p.add_argument("--qubits", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32, help="global batch, split over the processes (default 32)")
    p.add_argument("--train-size", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    setup(args)
    if args.batch % args.procs:
        p.error(f"--batch {args.batch} must be a multiple of --procs {args.procs}")
    ranks = launch(worker, args.procs, args, backend=args.backend, threads=args.threads)

    x, y, x_te, y_te = data(args)
    single_model = build_model(args)
    single = train(single_model, x, y, args)
    ddp_model = build_model(args)
    ddp_model.load_state_dict(ranks[0]["weights"])
    reference = single_model.state_dict()
    diff = max(float((w - reference[k]).abs().max()) for k, w in ranks[0]["weights"].items())
    same = all(torch.equal(r["weights"][k], ranks[0]["weights"][k]) for r in ranks for k in reference)
    results = {
        "procs": args.procs, "backend": args.backend, "epochs": args.epochs, "batch": args.batch,
        "qubits": args.qubits, "layers": args.layers, "dtype": args.dtype,
        "max_abs_weight_difference": diff, "ranks_identical": same,
        "ddp": {"losses": ranks[0]["losses"], "seconds_per_epoch": ranks[0]["seconds_per_epoch"],
                "test_accuracy": accuracy(ddp_model, x_te, y_te)},
        "single": {"losses": single["losses"], "seconds_per_epoch": single["seconds_per_epoch"],
                   "test_accuracy": accuracy(single_model, x_te, y_te)},
    }
    save_results(results, args.out / "ddp_training.json")
    return results


if __name__ == "__main__":
    main()
