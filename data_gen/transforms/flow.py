"""Randomly initialised normalizing flows (RealNVP affine couplings from `normflows`).

torch and normflows are imported only when a flow is drawn, so the rest of data_gen runs
without them. Weights are drawn from the numpy generator (never from torch's global RNG, which
stays untouched), rounded to float32, and the flow runs in the dtype of its input (float32 in
the sampler, float64 when tests invert stored data).

References:
    Dinh, Sohl-Dickstein & Bengio (2017), Density estimation using Real NVP, ICLR.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from data_gen.registry import register_transform
from data_gen.transforms.base import Bijection, Transform

__all__ = ["RandomFlow"]


class _Flow(Bijection):
    name = "flow"

    def __init__(self, rng: np.random.Generator, d: int, blocks: int, hidden: int, strength: float):
        import normflows as nf
        import torch

        self.torch = torch
        with torch.random.fork_rng(devices=[]):  # module construction must not move torch's RNG
            layers = []
            for _ in range(blocks):
                d1 = (d + 1) // 2  # Split("channel") keeps ceil(d/2) coordinates fixed
                net = nf.nets.MLP([d1, hidden, hidden, 2 * (d - d1)], leaky=0.1, output_fn="tanh",
                                  output_scale=strength)
                perm = nf.flows.Permute(d, mode="shuffle")
                p = torch.from_numpy(rng.permutation(d))
                perm.perm = p
                perm.inv_perm = torch.argsort(p)
                layers += [nf.flows.AffineCouplingBlock(net, scale=True, scale_map="exp"), perm]
            self.flow = torch.nn.Sequential(*layers).double().eval()
            with torch.no_grad():
                for m in self.flow.modules():
                    if isinstance(m, torch.nn.Linear):
                        bound = math.sqrt(3.0 / m.in_features)  # unit-variance weights per input
                        # float32-representable weights: the float32 copy computes the same map
                        w = rng.uniform(-bound, bound, tuple(m.weight.shape)).astype(np.float32)
                        m.weight.copy_(torch.from_numpy(w.astype(np.float64)))
                        m.bias.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(m.bias.shape)).astype(np.float32).astype(np.float64)))
            self.flow32 = copy.deepcopy(self.flow).float()
        self.params = {"blocks": blocks, "hidden": hidden, "strength": strength}

    def _run(self, x, inverse):
        torch = self.torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny matrices: extra threads only contend (20x slower on 2 busy cores)
        try:
            return self._apply(x, inverse)
        finally:
            torch.set_num_threads(threads)

    def _apply(self, x, inverse):
        torch = self.torch
        with torch.no_grad():
            if x.dtype == np.float32:  # the sampler's fast path
                z, mods = torch.from_numpy(np.ascontiguousarray(x)), list(self.flow32)
            else:
                z, mods = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)), list(self.flow)
            for m in reversed(mods) if inverse else mods:
                z, _ = m.inverse(z) if inverse else m(z)
            return z.numpy().astype(x.dtype, copy=False)

    def forward(self, x):
        return self._run(x, inverse=False)

    def inverse(self, y):
        return self._run(y, inverse=True)


@register_transform
class RandomFlow(Transform):
    """A random RealNVP: `blocks` affine couplings (MLP conditioners with `hidden` units,
    shift and log-scale bounded by `strength` through tanh) separated by random permutations."""

    name = "flow"
    min_dim = 2
    defaults = {"blocks": 4, "hidden": 32, "strength": 1.0}

    def draw(self, rng, d, options):
        return _Flow(rng, d, int(options["blocks"]), int(options["hidden"]), float(options["strength"]))
