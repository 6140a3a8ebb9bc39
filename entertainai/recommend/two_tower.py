"""A neural two-tower retrieval model whose item tower also reads metadata, for new items.

Item tower: item-id embedding + an encoder over the item's metadata (genres multi-hot, a
hashed bag of words of ``catalogue.texts``, a release-year bucket). User tower: user-id
embedding + the mean item-tower vector of the user's recent history. Both are L2-normalised and
trained with an in-batch sampled softmax (logQ-corrected for popularity). Because id
embeddings start at zero and are randomly dropped during training, the metadata part alone
places an item sensibly: ``embed_items`` encodes catalogue rows nobody has interacted with yet,
and ``embed_history`` encodes a user from a list of items.

Training is exposed as ``build_module`` / ``build_optimizer`` / ``train_epoch`` /
``from_module`` so a Ray TorchTrainer runs this same loop per worker (``entertainai.torch_utils``).
"""

from __future__ import annotations

import re
import weakref
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F
from torch import nn

from entertainai.errors import ArtifactError, InputError
from entertainai.recommend.base import Recommender
from entertainai.recommend.catalogue import Catalogue
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

WEIGHTS_FILE = "weights.safetensors"
YEAR_START, YEAR_STEP, YEAR_BINS = 1900, 5, 26  # 1900-2029 in 5-year bins, plus one "unknown"
TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class TwoTowerConfig:
    dim: int = 64
    # Tuned on a validation split of MovieLens-100K-like demo data (benchmarks/movielens_like.py,
    # grid in benchmarks/README.md): 30 epochs at lr 0.01 overfit the id embeddings (0.82x
    # item-kNN on test, 4.5 min); 6 epochs at lr 0.002, temperature 0.2: 1.05x in ~15 s.
    epochs: int = 6
    lr: float = 0.002  # AdamW
    batch_size: int = 256  # also the number of in-batch negatives
    temperature: float = 0.2
    weight_decay: float = 0.0  # AdamW's decoupled decay on every weight
    # Strength of the logQ correction of in-batch negatives (Yi et al. 2019). Popular items are
    # negatives more often; 1 undoes that in full. At 0 they sink: validation NDCG@10 0.05
    # instead of 0.25 on the ML-100K-like data; 0.5 gave 0.19, 1.25 0.248 (within noise of 1).
    logq_weight: float = 1.0
    # Share of ids zeroed in each batch, so the metadata encoder must carry taste on its own
    # (as it has to for new items); after DropoutNet (Volkovs et al. 2017).
    id_dropout: float = 0.5
    text_buckets: int = 1024  # hashed vocabulary of the bag of words
    max_tokens: int = 32  # distinct words per item kept, title first
    max_history: int = 50  # most recent items averaged in the user tower
    seed: int = 0
    device: str = "auto"  # "auto" (CUDA if available), "cpu", "cuda", "cuda:N"


# ---- metadata features (pure numpy) ------------------------------------------------------------


def n_features(n_genres: int, text_buckets: int) -> int:
    """Feature ids: genres, then word buckets, then year bins (+1 unknown); the next id pads."""
    return n_genres + text_buckets + YEAR_BINS + 1


def item_features(
    catalogue: Catalogue, genre_vocab: np.ndarray, text_buckets: int, max_tokens: int
) -> tuple[np.ndarray, np.ndarray]:
    """Padded feature ids (int64) and weights (float32), each (n_items, width).

    Genres are matched to ``genre_vocab`` by name (unknown ones dropped), words are hashed with
    crc32 (stable across processes, unlike ``hash``). Each field's weights have unit L2 norm, so
    an item with many words does not drown its genres.
    """
    vocab = {str(g): j for j, g in enumerate(genre_vocab)}
    to_vocab = np.asarray([vocab.get(str(g), -1) for g in catalogue.genre_names], np.int64)
    genres = catalogue.genres.tocsr()
    word_base, year_base = len(vocab), len(vocab) + text_buckets
    pad = n_features(len(vocab), text_buckets)
    rows: list[tuple[list[int], list[float]]] = []
    for i in range(len(catalogue)):
        g = to_vocab[genres.indices[genres.indptr[i] : genres.indptr[i + 1]]]
        g = g[g >= 0].tolist()
        words = list(dict.fromkeys(TOKEN.findall(str(catalogue.texts[i]).lower())))[:max_tokens]
        buckets = sorted({word_base + zlib.crc32(w.encode()) % text_buckets for w in words})
        ids = g + buckets + [year_base + year_bin(int(catalogue.years[i]))]
        weights = (
            [1 / np.sqrt(len(g))] * len(g) + [1 / np.sqrt(len(buckets))] * len(buckets) + [1.0]
        )
        rows.append((ids, weights))
    width = max((len(ids) for ids, _ in rows), default=1)
    index = np.full((len(rows), width), pad, np.int64)
    weight = np.zeros((len(rows), width), np.float32)
    for i, (ids, w) in enumerate(rows):
        index[i, : len(ids)] = ids
        weight[i, : len(w)] = w
    return index, weight


def year_bin(year: int) -> int:
    if year < 0:
        return YEAR_BINS  # unknown
    return int(np.clip((year - YEAR_START) // YEAR_STEP, 0, YEAR_BINS - 1))


def history_table(data: InteractionData, max_history: int) -> np.ndarray:
    """Each user's most recent items (by last interaction), padded with -1: (n_users, width)."""
    m = data.matrix.tocoo()
    rows, cols = m.row.astype(np.int64), m.col.astype(np.int64)
    when = np.asarray(data.last_seen[rows, cols]).ravel() if len(rows) else np.zeros(0)
    order = np.lexsort((-when, rows))
    rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=data.n_users)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(rows)) - starts[rows]
    width = max(1, min(max_history, int(counts.max(initial=0))))
    keep = rank < width
    table = np.full((data.n_users, width), -1, np.int64)
    table[rows[keep], rank[keep]] = cols[keep]
    return table


# ---- the towers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingTables:
    """Lookup tables derived from the training data, on the training device.

    Kept out of the module on purpose: DDP re-broadcasts every buffer at each forward pass, and
    the history table grows with the user base.
    """

    feat_index: torch.Tensor  # (n_items, width) int64 feature ids
    feat_weight: torch.Tensor  # (n_items, width) float32
    history: torch.Tensor  # (n_users, max_history) int64 item indices, -1 pads
    log_q: torch.Tensor  # (n_items,) log chance of being an in-batch negative


class TwoTowerModule(nn.Module):
    def __init__(self, n_users: int, n_items: int, n_feats: int, dim: int) -> None:
        super().__init__()
        self.user_id = nn.Embedding(n_users, dim)
        self.item_id = nn.Embedding(n_items, dim)
        # Zero ids: an id never trained adds nothing, exactly what embed_items assumes for new
        # items. The sum with the (non-zero) other part still gives them gradients.
        nn.init.zeros_(self.user_id.weight)
        nn.init.zeros_(self.item_id.weight)
        self.meta = nn.EmbeddingBag(n_feats + 1, dim, mode="sum", padding_idx=n_feats)
        self.mlp = nn.Sequential(nn.ReLU(), nn.Linear(dim, dim))

    def encode_metadata(self, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        bag = self.meta(index, per_sample_weights=weight)
        return bag + self.mlp(bag)  # residual: the linear content signal plus learned interactions

    def item_vectors(
        self,
        items: torch.Tensor,
        feat_index: torch.Tensor,
        feat_weight: torch.Tensor,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        ids = self.item_id(items)
        if keep is not None:
            ids = ids * keep[:, None]
        return ids + self.encode_metadata(feat_index[items], feat_weight[items])

    def user_vectors(
        self,
        users: torch.Tensor,
        history: torch.Tensor,
        feat_index: torch.Tensor,
        feat_weight: torch.Tensor,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        valid = history >= 0
        # Each distinct history item through the item tower once, then gathered: a batch's
        # 256 x 50 history slots hold ~1.5k distinct items at ML-100K size, and encoding each
        # slot made an epoch there take ~9 s instead of ~1 s.
        items, where = torch.unique(history.clamp(min=0), return_inverse=True)
        vectors = self.item_vectors(items, feat_index, feat_weight)[where] * valid[..., None]
        mean = vectors.sum(1) / valid.sum(1).clamp(min=1)[:, None]
        ids = self.user_id(users)
        if keep is not None:
            ids = ids * keep[:, None]
        return ids + mean

    def forward(
        self,
        users: torch.Tensor,
        history: torch.Tensor,
        items: torch.Tensor,
        keep_user: torch.Tensor,
        keep_item: torch.Tensor,
        feat_index: torch.Tensor,
        feat_weight: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit user and item vectors of a batch of (user, item) pairs."""
        u = self.user_vectors(users, history, feat_index, feat_weight, keep_user)
        v = self.item_vectors(items, feat_index, feat_weight, keep_item)
        return F.normalize(u, dim=-1), F.normalize(v, dim=-1)


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)).astype(np.float32)


class TwoTower(TorchTraining, Recommender[TwoTowerConfig]):
    """score(u, i) = cos(user tower(u), item tower(i))."""

    kind = "two_tower"
    Config = TwoTowerConfig
    config: TwoTowerConfig
    user_arrays = ("user_vectors_",)  # erased users' learned vectors go too
    _tables: tuple[weakref.ref[InteractionData], torch.device, TrainingTables] | None = None

    # ---- training, one worker's view -------------------------------------------------------

    def build_module(self, data: InteractionData) -> TwoTowerModule:
        cfg = self.config
        if not 0 <= cfg.id_dropout < 1 or cfg.temperature <= 0:
            raise InputError("two_tower needs 0 <= id_dropout < 1 and temperature > 0")
        seed_everything(cfg.seed)  # identical initial weights on every rank
        n_feats = n_features(len(data.catalogue.genre_names), cfg.text_buckets)
        return TwoTowerModule(data.n_users, data.n_items, n_feats, cfg.dim)

    def training_tables(self, data: InteractionData, device: torch.device) -> TrainingTables:
        """The tables ``train_epoch`` needs, built once per data set and device, then cached."""
        cached = self._tables
        if cached is not None and cached[0]() is data and cached[1] == device:
            return cached[2]
        cfg = self.config
        index, weight = item_features(
            data.catalogue, data.catalogue.genre_names.astype(str), cfg.text_buckets, cfg.max_tokens
        )
        counts = np.asarray((data.matrix > 0).sum(axis=0)).ravel().astype(np.float64)
        # Each item is an in-batch negative as often as it is a positive; subtracting the log of
        # that chance stops the softmax from simply punishing popular items (Yi et al. 2019).
        log_q = np.log(np.maximum(counts, 1.0) / max(counts.sum(), 1.0)).astype(np.float32)
        tables = TrainingTables(
            *(
                torch.as_tensor(a, device=device)
                for a in (index, weight, history_table(data, cfg.max_history), log_q)
            )
        )
        self._tables = (weakref.ref(data), device, tables)
        return tables

    def build_optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        cfg = self.config
        return torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

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
        m = data.matrix.tocsr()
        all_users = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        mine = shard(len(all_users), cfg.seed, epoch, world_rank, world_size)
        users, items = all_users[mine], m.indices[mine].astype(np.int64)
        keep = epoch_rng(cfg.seed, epoch, world_rank).random((len(users), 2)) >= cfg.id_dropout
        device = module_device(module)
        tables = self.training_tables(data, device)
        module.train()
        total = torch.zeros((), device=device)
        for start in range(0, len(users), cfg.batch_size):
            batch = slice(start, start + cfg.batch_size)
            u = torch.as_tensor(users[batch], device=device)
            i = torch.as_tensor(items[batch], device=device)
            k = torch.as_tensor(keep[batch], dtype=torch.float32, device=device)
            # Leave the target out of the user's own history, else the user tower learns to
            # point at items already in it instead of predicting unseen ones.
            history = tables.history[u]
            history = history.masked_fill(history == i[:, None], -1)
            uv, iv = module(u, history, i, k[:, 0], k[:, 1], tables.feat_index, tables.feat_weight)
            loss = self._in_batch_loss(uv, iv, i, tables.log_q)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(u)
        return float(total) / max(len(users), 1)  # one host sync per epoch

    def _in_batch_loss(
        self, uv: torch.Tensor, iv: torch.Tensor, items: torch.Tensor, log_q: torch.Tensor
    ) -> torch.Tensor:
        """Softmax over the batch's items (the other rows' positives are the negatives)."""
        logits = uv @ iv.T / self.config.temperature - self.config.logq_weight * log_q[items]
        # The same item twice in a batch is a positive for both rows, not a negative.
        duplicate = (items[:, None] == items[None, :]) & ~torch.eye(
            len(items), dtype=torch.bool, device=items.device
        )
        logits = logits.masked_fill(duplicate, float("-inf"))
        return F.cross_entropy(logits, torch.arange(len(items), device=items.device))

    def from_module(self, module: nn.Module, data: InteractionData) -> Self:
        """Adopt weights trained elsewhere (e.g. by a Ray TorchTrainer) as the fitted state."""
        self._prepare(data)
        self._adopt(module, data)
        self.fitted_ = True
        return self

    def _adopt(self, module: nn.Module, data: InteractionData) -> None:
        trained = unwrap(module)
        assert isinstance(trained, TwoTowerModule)
        self.genre_vocab_ = data.catalogue.genre_names.astype(str)
        # A CPU copy for embed_items: the trained module may sit on a GPU or inside DDP.
        self.module_ = self._empty_module()
        self.module_.load_state_dict(trained.state_dict())
        self.module_.eval()
        with torch.no_grad():
            index, weight = item_features(
                data.catalogue, self.genre_vocab_, self.config.text_buckets, self.config.max_tokens
            )
            meta = self.module_.encode_metadata(torch.as_tensor(index), torch.as_tensor(weight))
            self.item_raw_ = (self.module_.item_id.weight + meta).numpy().copy()
        history = history_table(data, self.config.max_history)
        user_ids = self.module_.user_id.weight.detach().numpy()
        self.user_vectors_ = _normalise(user_ids + self._history_mean(history))
        self.item_vectors_ = _normalise(self.item_raw_)

    def _empty_module(self) -> TwoTowerModule:
        feats = n_features(len(self.genre_vocab_), self.config.text_buckets)
        return TwoTowerModule(len(self.user_ids_), len(self.item_ids_), feats, self.config.dim)

    def _history_mean(self, history: np.ndarray) -> np.ndarray:
        valid = history >= 0
        vectors = np.where(valid[..., None], self.item_raw_[np.maximum(history, 0)], 0.0)
        return (vectors.sum(1) / np.maximum(valid.sum(1), 1)[:, None]).astype(np.float32)

    # ---- encoding new items and histories --------------------------------------------------

    def embed_items(self, catalogue: Catalogue) -> np.ndarray:
        """Unit item vectors (n, dim) for any catalogue rows, new items included.

        Rows whose id the model was trained on keep their id embedding; the rest are encoded
        from metadata alone. Score them against ``embed_users`` / ``embed_history`` by dot product.
        """
        self.check_fitted()
        index, weight = item_features(
            catalogue, self.genre_vocab_, self.config.text_buckets, self.config.max_tokens
        )
        known = self.item_indices(catalogue.item_ids.tolist())
        with torch.no_grad():
            meta = self.module_.encode_metadata(
                torch.as_tensor(index), torch.as_tensor(weight)
            ).numpy()
        ids = np.where(
            (known >= 0)[:, None], self.module_.item_id.weight.detach().numpy()[known], 0.0
        )
        return _normalise(meta + ids)

    def embed_users(self, user_ids: Sequence[str]) -> np.ndarray:
        """Unit user vectors (n, dim); users the model has not seen get zeros (no signal)."""
        users = self.user_indices(user_ids)
        return np.where((users >= 0)[:, None], self.user_vectors_[users], 0.0).astype(np.float32)

    def embed_history(self, histories: Sequence[Sequence[str]]) -> np.ndarray:
        """Unit user vectors (n, dim) from item lists alone (a new user's session, say).

        Items the model does not know are skipped; an empty history gives a zero vector.
        """
        self.check_fitted()
        width = max((len(h) for h in histories), default=0) or 1
        table = np.full((len(histories), width), -1, np.int64)
        for row, items in enumerate(histories):
            idx = self.item_indices(list(items))
            table[row, : len(idx)] = idx
        return _normalise(self._history_mean(table))

    # ---- the recommender contract ----------------------------------------------------------

    def _fit(self, data: InteractionData) -> None:
        module, history = train_locally(self, data)
        self.loss_history_ = [record["loss"] for record in history]
        self._tables = None  # free the (possibly GPU) training tables
        self._adopt(module, data)


    def _user_scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_vectors_[users] @ self.item_vectors_.T

    def _item_vectors(self) -> np.ndarray:
        return self.item_vectors_

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "genre_vocab": self.genre_vocab_,
            "user_vectors": self.user_vectors_,
            "item_raw": self.item_raw_,
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.genre_vocab_ = arrays["genre_vocab"]
        self.user_vectors_ = arrays["user_vectors"]
        self.item_raw_ = arrays["item_raw"]
        self.item_vectors_ = _normalise(self.item_raw_)

    def _save_state(self, directory: Path) -> None:
        super()._save_state(directory)
        weights = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
        safetensors.torch.save_file(weights, str(directory / WEIGHTS_FILE))

    def _load_state(self, directory: Path) -> None:
        super()._load_state(directory)
        self.module_ = self._empty_module()
        try:
            self.module_.load_state_dict(safetensors.torch.load_file(str(directory / WEIGHTS_FILE)))
        except RuntimeError as exc:  # shapes or names that do not match the config
            raise ArtifactError(
                f"{directory}: weights do not fit the two_tower config: {exc}"
            ) from None
        self.module_.eval()
