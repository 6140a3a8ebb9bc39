"""BPR-MF (Rendle et al. 2009) in torch: rank each consumed item above a sampled unseen one.

score(u, i) = p_u . q_i + b_i, trained on (user, positive, negative) triples with the loss
-log sigmoid(score(u, i) - score(u, j)) plus L2 on the embeddings in the batch. Training is
exposed as ``build_module`` / ``build_optimizer`` / ``train_epoch`` / ``from_module`` so a Ray
TorchTrainer runs this same loop per worker (see ``entertainai.torch_utils``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import InputError
from entertainai.recommend.base import Recommender
from entertainai.recommend.interactions import InteractionData
from entertainai.torch_utils import (
    TorchTraining,
    epoch_rng,
    module_device,
    seed_everything,
    shard,
    train_locally,
    unwrap,
)


@dataclass(frozen=True)
class BPRConfig:
    factors: int = 64
    # Tuned on a validation split of MovieLens-100K-like demo data (benchmarks/movielens_like.py,
    # grid in benchmarks/README.md). lr 0.003 x 50 epochs, tuned on the older, easier demo,
    # overfit there and sat at item-kNN's level (0.996x on test); lr 0.001 x 100 epochs: 1.03x.
    lr: float = 0.001  # Adam
    weight_decay: float = 0.015  # L2 on the batch's embeddings (BPR's per-sample regulariser)
    epochs: int = 100  # ~15 s at ML-100K size on one CPU thread
    batch_size: int = 1024
    # Negatives: ``negatives`` candidates per positive, drawn with chance ∝ popularity^power
    # (0: uniform); the one the model currently scores highest is the negative (dynamic
    # negative sampling, Zhang et al. 2013). 1 candidate is plain BPR.
    negatives: int = 1
    negative_power: float = 0.0
    seed: int = 0
    device: str = "auto"  # "auto" (CUDA if available), "cpu", "cuda", "cuda:N"


class BPRModule(nn.Module):
    def __init__(self, n_users: int, n_items: int, factors: int) -> None:
        super().__init__()
        self.users = nn.Embedding(n_users, factors)
        self.items = nn.Embedding(n_items, factors)
        self.bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.users.weight, std=0.1)
        nn.init.normal_(self.items.weight, std=0.1)
        nn.init.zeros_(self.bias.weight)

    def forward(
        self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Score margins score(u, pos) - score(u, neg) and each triple's squared norm."""
        u, i, j = self.users(users), self.items(pos), self.items(neg)
        margin = (u * (i - j)).sum(-1) + (self.bias(pos) - self.bias(neg)).squeeze(-1)
        sq_norm = u.pow(2).sum(-1) + i.pow(2).sum(-1) + j.pow(2).sum(-1)
        return margin, sq_norm


def positive_pairs(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) index of every distinct consumed pair, in CSR order."""
    m = matrix.tocsr()
    users = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    return users.astype(np.int64), m.indices.astype(np.int64)


def sample_negatives(
    rng: np.random.Generator,
    users: np.ndarray,
    n_items: int,
    seen_keys: np.ndarray,
    rounds: int = 3,
    cdf: np.ndarray | None = None,
) -> np.ndarray:
    """Items (uniform, or by the item CDF ``cdf``), redrawn a few rounds where seen.

    ``seen_keys`` is the sorted array of ``user * n_items + item`` over consumed pairs. A few
    rounds suffice: what stays a seen item after them only adds a little noise to the loss.
    """

    def draw(n: int) -> np.ndarray:
        if cdf is None:
            return rng.integers(0, n_items, size=n)
        return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), n_items - 1)

    neg = draw(len(users))
    for _ in range(rounds):
        keys = users * n_items + neg
        pos = np.searchsorted(seen_keys, keys)
        hit = seen_keys[np.minimum(pos, len(seen_keys) - 1)] == keys
        if not hit.any():
            break
        neg[hit] = draw(int(hit.sum()))
    return neg


def negative_cdf(matrix: sp.csr_matrix, power: float) -> np.ndarray | None:
    """CDF over items of popularity^power (None for uniform sampling, power 0)."""
    if power == 0:
        return None
    counts = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.float64)
    weights = np.maximum(counts, 1.0) ** power  # unseen items keep a small chance
    return np.cumsum(weights) / weights.sum()


class BPR(TorchTraining, Recommender[BPRConfig]):
    kind = "bpr"
    Config = BPRConfig
    config: BPRConfig
    user_arrays = ("user_factors_",)  # erased users' learned vectors go too

    # ---- training, one worker's view -------------------------------------------------------

    def build_module(self, data: InteractionData) -> BPRModule:
        if self.config.negatives < 1 or self.config.negative_power < 0:
            raise InputError("bpr needs negatives >= 1 and negative_power >= 0")
        seed_everything(self.config.seed)  # identical initial weights on every rank
        return BPRModule(data.n_users, data.n_items, self.config.factors)

    def build_optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr=self.config.lr)

    def train_epoch(
        self,
        module: nn.Module,
        data: InteractionData,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        world_rank: int = 0,
        world_size: int = 1,
    ) -> float:
        """One pass over this rank's shard of the consumed pairs; returns the mean loss."""
        cfg = self.config
        all_users, all_items = positive_pairs(data.matrix)
        seen_keys = np.sort(all_users * data.n_items + all_items)
        mine = shard(len(all_users), cfg.seed, epoch, world_rank, world_size)
        users, items = all_users[mine], all_items[mine]
        candidates = sample_negatives(
            epoch_rng(cfg.seed, epoch, world_rank),
            np.repeat(users, cfg.negatives),
            data.n_items,
            seen_keys,
            cdf=negative_cdf(data.matrix, cfg.negative_power),
        ).reshape(len(users), cfg.negatives)
        device = module_device(module)
        inner = unwrap(module)
        assert isinstance(inner, BPRModule)
        module.train()
        total = torch.zeros((), device=device)
        for start in range(0, len(users), cfg.batch_size):
            batch = slice(start, start + cfg.batch_size)
            u, i, c = (torch.as_tensor(a[batch], device=device) for a in (users, items, candidates))
            if cfg.negatives > 1:
                with torch.no_grad():  # the hardest candidate under the current model
                    scores = (inner.users(u)[:, None, :] * inner.items(c)).sum(-1)
                    scores += inner.bias(c).squeeze(-1)
                    j = c.gather(1, scores.argmax(1, keepdim=True)).squeeze(1)
            else:
                j = c[:, 0]
            margin, sq_norm = module(u, i, j)
            loss = -F.logsigmoid(margin).mean() + cfg.weight_decay * sq_norm.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(u)
        return float(total) / max(len(users), 1)  # one host sync per epoch

    def from_module(self, module: nn.Module, data: InteractionData) -> Self:
        """Adopt weights trained elsewhere (e.g. by a Ray TorchTrainer) as the fitted state."""
        self._prepare(data)
        self._adopt(module)
        self.fitted_ = True
        return self

    def _adopt(self, module: nn.Module) -> None:
        inner = unwrap(module)
        assert isinstance(inner, BPRModule)
        self.user_factors_ = inner.users.weight.detach().cpu().numpy().copy()
        self.item_factors_ = inner.items.weight.detach().cpu().numpy().copy()
        self.item_bias_ = inner.bias.weight.detach().cpu().numpy().ravel().copy()

    # ---- the recommender contract ----------------------------------------------------------

    def _fit(self, data: InteractionData) -> None:
        module, history = train_locally(self, data)
        self.loss_history_ = [record["loss"] for record in history]
        self._adopt(module)


    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T + self.item_bias_[None, :]

    def _item_vectors(self) -> np.ndarray:
        return self.item_factors_

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "item_bias": self.item_bias_,
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors_ = arrays["user_factors"]
        self.item_factors_ = arrays["item_factors"]
        self.item_bias_ = arrays["item_bias"]
