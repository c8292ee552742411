"""The penalty layer: one L2 penalty for every objective, its share per process, its ridge."""

import torch

from skorch_lite._penalty import L2


class _Rank:
    def __init__(self, rank):
        self.rank, self.world_size = rank, 2


def test_the_penalty_is_alpha_times_the_squared_coefficients_per_target_or_in_all():
    coef = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    penalty = L2(0.5)
    assert torch.equal(penalty.terms(coef, 0), 0.5 * torch.tensor([10.0, 5.0], dtype=coef.dtype))
    assert torch.equal(penalty.terms(coef, 1), 0.5 * torch.tensor([5.0, 10.0], dtype=coef.dtype))
    assert float(penalty.terms(coef, None)) == penalty.value(coef) == 7.5


def test_in_a_data_parallel_fit_only_process_zero_adds_the_penalty():
    penalty = L2(3.0)
    assert penalty.share(None) is penalty and penalty.share(_Rank(0)) is penalty
    other = penalty.share(_Rank(1))
    assert other.vanishes and float(other.terms(torch.ones(2, 2), 0).sum()) == 0.0
    assert not penalty.vanishes and L2(0.0).vanishes


def test_the_ridge_of_the_preconditioner_is_alpha_for_squares_and_twice_alpha_for_curvatures():
    # Squared error's Hessian is 2 (X'WX + alpha I); a loss weighted by its
    # curvature h has X' W h X + 2 alpha I. Exactly, so that fits do not move.
    for alpha in (0.0, 1e-300, 0.3, 7.0, 1e300):
        assert L2(alpha).ridge(2) == alpha
        assert L2(alpha).ridge(1) == 2 * alpha
