"""How discrete latents reach the score network, shared by the encoder, the prior and the score net.

The score network takes ``latents`` as a dict:

* pointer mode: ``{"ligand": [N, m], "receptor": [R, m], "keep": [B] bool}``: 0/1 labels on every node
  (1 where latent j points at that node), as float so a straight-through gradient can flow through them;
* global mode: ``{"onehot": [B, m, k], "keep": [B] bool}``;
* ``None``: no latents (every example dropped, i.e. the unconditional model).

Examples with ``keep`` False are "dropped": their labels are ignored and a learned null embedding is added
to their nodes instead (latent dropout, and the unconditional half of classifier-free guidance).

Pointer items are ordered as the encoder's logits are: the ligand atoms of the whole batch first, then the
receptor residues. Pointer *codes* are global item indices in that order (``disco_core.latents``
convention); :func:`codes_to_local` / :func:`codes_to_global` convert to and from each complex's own item
numbering (its ligand atoms, then its residues), which is what a cache of codes should store.
"""

from __future__ import annotations

import torch
from disco_core.latents import LatentDropout, codes_to_onehot, pointer_codes_to_onehot
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.models.config import LatentConfig

LatentDict = dict[str, Tensor]


def num_graphs(batch: HeteroData) -> int:
    """Number of complexes in a batch (1 for an unbatched complex)."""
    return int(getattr(batch, "num_graphs", 1) or 1)


def node_batch(batch: HeteroData, node_type: str) -> Tensor:
    """The complex index of every node of ``node_type`` ([n] long; zeros for an unbatched complex)."""
    store = batch[node_type]
    if "batch" in store:
        return store.batch
    return torch.zeros(store[K.POS].shape[0], dtype=torch.long, device=store[K.POS].device)


def item_batch(batch: HeteroData) -> Tensor:
    """Complex index of every pointer item: ligand atoms of the batch, then receptor residues. [N + R]."""
    return torch.cat([node_batch(batch, K.LIGAND), node_batch(batch, K.RECEPTOR)])


def item_rank(batch: HeteroData) -> Tensor:
    """Each item's index within its own complex (its ligand atoms first, then its residues): [N + R] long.

    Assumes each complex's nodes are contiguous and in complex order, as ``collate_complexes`` makes them.
    """
    items = item_batch(batch)
    b = num_graphs(batch)
    n_lig = node_batch(batch, K.LIGAND).numel()
    counts_lig = torch.bincount(items[:n_lig], minlength=b)
    counts_rec = torch.bincount(items[n_lig:], minlength=b)
    start_lig = torch.cumsum(counts_lig, 0) - counts_lig
    start_rec = torch.cumsum(counts_rec, 0) - counts_rec
    idx = torch.arange(items.numel(), device=items.device)
    rank = torch.empty_like(items)
    rank[:n_lig] = idx[:n_lig] - start_lig[items[:n_lig]]
    rank[n_lig:] = idx[n_lig:] - n_lig - start_rec[items[n_lig:]] + counts_lig[items[n_lig:]]
    return rank


def pointer_allowed(batch: HeteroData, latent: LatentConfig) -> Tensor | None:
    """Which items each pointer latent may pick: [N + R, m] bool, or None when any item may be picked.

    With ``pointer_targets == "contact"`` the first latent picks a ligand atom and the others residues.
    """
    if latent.mode != "pointer" or latent.pointer_targets == "any":
        return None
    n_lig = node_batch(batch, K.LIGAND).numel()
    n_all = item_batch(batch).numel()
    allowed = torch.zeros(n_all, latent.m, dtype=torch.bool, device=batch[K.LIGAND][K.POS].device)
    allowed[:n_lig, 0] = True
    allowed[n_lig:, 1:] = True
    return allowed


def codes_to_local(batch: HeteroData, codes: Tensor) -> Tensor:
    """Global pointer codes [B, m] -> indices within each complex's own items [B, m]."""
    return item_rank(batch)[codes]


def codes_to_global(batch: HeteroData, local: Tensor) -> Tensor:
    """Per-complex pointer indices [B, m] (ligand atoms first, then residues) -> global item codes [B, m]."""
    items, rank = item_batch(batch), item_rank(batch)
    b = num_graphs(batch)
    counts = torch.bincount(items, minlength=b)
    if bool((local < 0).any()) or bool((local >= counts[:, None]).any()):
        raise ValueError("a pointer code is outside its complex's items")
    # Row of (complex, rank) in the item order: a lookup table of size B x max items.
    table = torch.full((b, int(counts.max())), -1, dtype=torch.long, device=items.device)
    table[items, rank] = torch.arange(items.numel(), device=items.device)
    return table.gather(1, local.long())


def onehot_to_latents(batch: HeteroData, onehot: Tensor, *, mode: str, keep: Tensor | None = None) -> LatentDict:
    """The score net's latents dict from one-hots: pointer [N + R, m] or global [B, m, k].

    ``keep`` defaults to all True. The one-hots are used as given, so a straight-through gradient survives.
    """
    b = num_graphs(batch)
    if keep is None:
        keep = torch.ones(b, dtype=torch.bool, device=onehot.device)
    if mode == "pointer":
        n_lig = node_batch(batch, K.LIGAND).numel()
        return {"ligand": onehot[:n_lig], "receptor": onehot[n_lig:], "keep": keep}
    if mode == "global":
        return {"onehot": onehot, "keep": keep}
    raise ValueError(f"no latents in mode {mode!r}")


def codes_to_latents(
    batch: HeteroData, codes: Tensor, *, latent: LatentConfig, keep: Tensor | None = None
) -> LatentDict | None:
    """The score net's latents dict from integer codes [B, m] (pointer codes are global item indices)."""
    if not latent.active:
        return None
    dtype = batch[K.LIGAND][K.POS].dtype
    if latent.mode == "pointer":
        onehot = pointer_codes_to_onehot(codes, item_batch(batch).numel(), dtype=dtype)
    else:
        onehot = codes_to_onehot(codes, latent.k, dtype=dtype)
    return onehot_to_latents(batch, onehot, mode=latent.mode, keep=keep)


class LatentConditioning(nn.Module):
    """Turns a latents dict into node inputs: per-node labels (pointer) and a per-complex shift.

    Pointer mode: the labels [n, m] are concatenated to each node's input features (zeroed for dropped
    examples). Global mode: the one-hots are embedded to ``dim`` features. In both modes dropped examples
    get the learned null embedding as their shift; kept ones get zero (pointer) or their embedding (global).
    """

    def __init__(self, latent: LatentConfig, *, dim: int):
        super().__init__()
        self.mode = latent.mode if latent.active else "none"
        self.m, self.k, self.dim = latent.m, latent.k, dim
        if self.mode != "none":
            # p is irrelevant here: the keep mask always comes with the latents.
            self.dropout = LatentDropout(p=latent.dropout, dim=dim)
        if self.mode == "global":
            self.embed = nn.Linear(self.m * self.k, dim)

    @property
    def label_dim(self) -> int:
        """Extra input features per node: m in pointer mode, else 0."""
        return self.m if self.mode == "pointer" else 0

    def forward(
        self, batch: HeteroData, latents: LatentDict | None, *, dtype: torch.dtype
    ) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        """``(ligand_labels [N, m] | None, receptor_labels [R, m] | None, shift [B, dim] | None)``."""
        if self.mode == "none":
            return None, None, None
        b = num_graphs(batch)
        lig_b, rec_b = node_batch(batch, K.LIGAND), node_batch(batch, K.RECEPTOR)
        device = lig_b.device
        if latents is None:
            keep = torch.zeros(b, dtype=torch.bool, device=device)
        else:
            keep = latents.get("keep")
            keep = torch.ones(b, dtype=torch.bool, device=device) if keep is None else keep.to(torch.bool)
        if self.mode == "pointer":
            if latents is None:
                lig = torch.zeros(lig_b.numel(), self.m, dtype=dtype, device=device)
                rec = torch.zeros(rec_b.numel(), self.m, dtype=dtype, device=device)
            else:
                lig, rec = latents["ligand"].to(dtype), latents["receptor"].to(dtype)
                if lig.shape != (lig_b.numel(), self.m) or rec.shape != (rec_b.numel(), self.m):
                    raise ValueError(
                        f"pointer labels must be [N, {self.m}] and [R, {self.m}], got "
                        f"{tuple(lig.shape)} and {tuple(rec.shape)}"
                    )
                lig = lig * keep[lig_b, None].to(dtype)
                rec = rec * keep[rec_b, None].to(dtype)
            shift, _ = self.dropout(torch.zeros(b, self.dim, dtype=dtype, device=device), keep=keep)
            return lig, rec, shift
        if latents is None:
            emb = torch.zeros(b, self.dim, dtype=dtype, device=device)
        else:
            onehot = latents["onehot"].to(dtype)
            if onehot.shape != (b, self.m, self.k):
                raise ValueError(f"global latents must be [B, {self.m}, {self.k}], got {tuple(onehot.shape)}")
            emb = self.embed(onehot.reshape(b, -1))
        shift, _ = self.dropout(emb, keep=keep)
        return None, None, shift
