import math

import numpy as np
import pytest
import torch
from scipy import stats

from disco_core.latents.quantize import codebook_perplexity, codebook_usage, codes_to_onehot, gumbel_softmax_st
from disco_core.latents.quantize import pointer_codes_to_onehot, pointer_perplexity, pointer_usage
from disco_core.latents.quantize import quantize_global, quantize_pointer
from disco_core.latents.segment import segment_log_softmax, to_dense


def _random_batch(gen: torch.Generator, num_examples: int, max_items: int) -> torch.Tensor:
    """Example index of every item, variable sizes, rows shuffled (batch need not be sorted)."""
    sizes = torch.randint(1, max_items + 1, (num_examples,), generator=gen)
    batch = torch.repeat_interleave(torch.arange(num_examples), sizes)
    return batch[torch.randperm(batch.numel(), generator=gen)]


def test_gumbel_st_is_one_hot_forward_with_gradient():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3, 5, generator=gen).requires_grad_()
    y = gumbel_softmax_st(logits, temperature=1.0, generator=gen)
    assert torch.equal(y.detach().sum(-1), torch.ones(6, 3))
    assert set(y.detach().unique().tolist()) <= {0.0, 1.0}
    (y * torch.randn(6, 3, 5, generator=gen)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    # The soft sample's rows sum to one, so the gradient of each row sums to ~0.
    assert torch.allclose(logits.grad.sum(-1), torch.zeros(6, 3), atol=1e-6)


def test_gumbel_st_respects_dim():
    logits = torch.randn(4, 7, 3, generator=torch.Generator().manual_seed(1))
    y = gumbel_softmax_st(logits, temperature=0.5, generator=torch.Generator().manual_seed(1), dim=1)
    assert torch.equal(y.sum(1), torch.ones(4, 3))


def test_zero_temperature_and_no_sampling_are_argmax():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 4, 6, generator=gen)
    onehot, codes = quantize_global(logits, temperature=0.0)
    assert torch.equal(codes, logits.argmax(-1))
    assert torch.equal(onehot, torch.nn.functional.one_hot(codes, 6).float())
    _, codes2 = quantize_global(logits, temperature=1.0, sample=False)
    assert torch.equal(codes2, logits.argmax(-1))
    # logits 50 nats apart: Gumbel noise (tail ~ exp(-50)) cannot change the winner
    spread = 50.0 * torch.stack([torch.randperm(6, generator=gen) for _ in range(32)]).float().view(8, 4, 6)
    _, codes3 = quantize_global(spread, temperature=1.0, generator=gen)
    assert torch.equal(codes3, spread.argmax(-1))


def test_soft_global_quantizer_rows_are_distributions():
    logits = torch.randn(5, 2, 4, generator=torch.Generator().manual_seed(0))
    soft, codes = quantize_global(logits, temperature=2.0, hard=False, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(soft.sum(-1), torch.ones(5, 2))
    assert (soft > 0).all() and (soft < 1).all()
    assert torch.equal(codes, soft.argmax(-1))


def test_global_code_frequencies_match_softmax():
    gen = torch.Generator().manual_seed(2)
    k, draws = 5, 20000
    logits = torch.tensor([1.5, 0.0, -1.0, 0.7, -0.3])
    _, codes = quantize_global(logits.expand(draws, 1, k), temperature=1.0, generator=gen)
    observed = codebook_usage(codes, k)[0].numpy()
    expected = logits.double().softmax(-1).numpy() * observed.sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_global_quantizer_is_reproducible_with_a_generator():
    logits = torch.randn(10, 3, 4, generator=torch.Generator().manual_seed(0))
    a = quantize_global(logits, temperature=1.0, generator=torch.Generator().manual_seed(7))[1]
    b = quantize_global(logits, temperature=1.0, generator=torch.Generator().manual_seed(7))[1]
    assert torch.equal(a, b)


def test_pointer_latents_stay_inside_their_example():
    gen = torch.Generator().manual_seed(3)
    for trial in range(30):
        num_examples = int(torch.randint(1, 6, (1,), generator=gen))
        batch = _random_batch(gen, num_examples, max_items=7)
        m = 3
        logits = torch.randn(batch.numel(), m, generator=gen) * 3
        onehot, codes = quantize_pointer(logits, batch, temperature=1.0, generator=gen)
        assert codes.shape == (num_examples, m)
        assert torch.equal(batch[codes], torch.arange(num_examples)[:, None].expand(-1, m))
        per_example = torch.zeros(num_examples, m).index_add(0, batch, onehot.detach())
        assert torch.equal(per_example, torch.ones(num_examples, m))
        assert set(onehot.detach().unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(pointer_codes_to_onehot(codes, batch.numel()), onehot.detach())


def test_pointer_gradient_stays_inside_its_example():
    gen = torch.Generator().manual_seed(4)
    batch = torch.tensor([0, 1, 0, 2, 1, 1, 0])
    logits = torch.randn(7, 2, generator=gen).requires_grad_()
    onehot, _ = quantize_pointer(logits, batch, temperature=1.0, generator=gen)
    # a loss that only looks at example 1's items
    weights = torch.randn(7, 2, generator=gen) * (batch == 1).float()[:, None]
    (onehot * weights).sum().backward()
    assert logits.grad[batch == 1].abs().sum() > 0
    assert torch.equal(logits.grad[batch != 1], torch.zeros_like(logits.grad[batch != 1]))


def test_pointer_frequencies_match_segment_softmax():
    gen = torch.Generator().manual_seed(5)
    batch = torch.tensor([0, 0, 0, 1, 1, 0])
    logits = torch.tensor([0.5, -1.0, 1.0, 0.3, -0.2, 0.0])[:, None]
    draws = 6000
    # replicate the batch `draws` times as independent examples
    rep_batch = (batch[None, :] + 2 * torch.arange(draws)[:, None]).reshape(-1)
    rep_logits = logits.repeat(draws, 1)
    _, codes = quantize_pointer(rep_logits, rep_batch, temperature=1.0, generator=gen)
    local = codes[:, 0] % batch.numel()
    probs = segment_log_softmax(logits, batch).exp()[:, 0]
    for example in (0, 1):
        items = (batch == example).nonzero()[:, 0]
        observed = np.array([(local[example::2] == i).sum().item() for i in items])
        expected = probs[items].double().numpy()
        expected = expected / expected.sum() * observed.sum()
        assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_pointer_argmax_and_ties():
    batch = torch.tensor([1, 0, 1, 0, 1])
    logits = torch.tensor([[0.0], [2.0], [3.0], [1.0], [-1.0]])
    _, codes = quantize_pointer(logits, batch, temperature=0.0)
    assert codes[:, 0].tolist() == [1, 2]
    _, codes = quantize_pointer(torch.zeros(5, 2), batch, temperature=1.0, sample=False)
    assert codes.tolist() == [[1, 1], [0, 0]]  # ties go to the lowest item index


def test_pointer_rejects_empty_example():
    with pytest.raises(ValueError, match="no items"):
        quantize_pointer(torch.zeros(3, 1), torch.tensor([0, 0, 2]), temperature=1.0)


def test_perplexity_and_usage():
    k = 6
    uniform = torch.arange(k).repeat(5)[:, None].repeat(1, 2)
    assert math.isclose(codebook_perplexity(uniform, k), k, rel_tol=1e-9)
    single = torch.full((30, 2), 3)
    assert math.isclose(codebook_perplexity(single, k), 1.0, rel_tol=1e-9)
    half = torch.tensor([[0], [1]] * 10)
    assert math.isclose(codebook_perplexity(half, k), 2.0, rel_tol=1e-9)
    usage = codebook_usage(torch.tensor([[0, 2], [0, 1], [3, 2]]), 4)
    assert usage.tolist() == [[2, 0, 0, 1], [0, 1, 2, 0]]


def test_pointer_usage_by_category():
    category = torch.tensor([0, 0, 1, 1, 1, 0])  # e.g. ligand atom = 0, receptor residue = 1
    codes = torch.tensor([[0, 2], [3, 5]])
    assert pointer_usage(codes, category, 2).tolist() == [[1, 1], [1, 1]]
    codes = torch.tensor([[0, 1], [5, 1]])
    assert pointer_usage(codes, category, 2).tolist() == [[2, 0], [2, 0]]


def test_pointer_perplexity_uses_rank_within_example():
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    same_rank = torch.tensor([[1], [4]])  # both pick the middle item of their example
    assert math.isclose(pointer_perplexity(same_rank, batch), 1.0)
    diff_rank = torch.tensor([[0], [5]])
    assert math.isclose(pointer_perplexity(diff_rank, batch), 2.0)


def test_to_dense_and_segment_log_softmax_agree_with_dense_maths():
    gen = torch.Generator().manual_seed(6)
    batch = _random_batch(gen, 4, 6)
    values = torch.randn(batch.numel(), 2, generator=gen)
    dense, mask, index = to_dense(values, batch)
    assert torch.equal(dense[mask], values[index[mask]])
    assert torch.equal(batch[index[mask]], torch.arange(4)[:, None].expand_as(mask)[mask])
    dense_lsm = dense.masked_fill(~mask[..., None], float("-inf")).log_softmax(1)
    assert torch.allclose(segment_log_softmax(values, batch)[index[mask]], dense_lsm[mask], atol=1e-6)


def test_codes_to_onehot_roundtrip():
    codes = torch.tensor([[1, 0], [2, 2]])
    onehot = codes_to_onehot(codes, 3)
    assert onehot.shape == (2, 2, 3) and torch.equal(onehot.argmax(-1), codes)
