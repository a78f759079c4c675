import math

import pytest
import torch

from invertibility.methods.objectives import (
    PriorGradient,
    alpha_norm,
    relative_feature_loss,
    total_variation,
)


def test_alpha_norm_on_a_constant_image():
    x = torch.full((2, 1, 4, 5), 2.0)
    x[1] = -1.0
    # sum |x|^6 / (H W B^6) with B = 2: image 0 -> 20 * 64 / (20 * 64) = 1; image 1 -> 1/64
    torch.testing.assert_close(alpha_norm(x, 6, 2.0), torch.tensor([1.0, 1 / 64]))


def test_total_variation_of_a_ramp_and_a_constant():
    ramp = torch.arange(4.0).repeat(4, 1)[None, None]  # x increases by 1 along width
    flat = torch.ones(1, 1, 4, 4)
    tv = total_variation(torch.cat([ramp, flat]), beta=2, bound=1.0)
    # 3x3 valid positions, each (dx^2 + dy^2) = 1, normalized by H W = 16
    torch.testing.assert_close(tv, torch.tensor([9 / 16, 0.0]))


def test_total_variation_uses_both_directions_and_beta():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 1, 1] = 1.0  # one bright pixel
    # differences at (0,0)->(0,1)? no: dx at (1,0)=1, dy at (0,1)=1, and at (1,1): dx=-1, dy=-1
    # positions (0,1): dy=1; (1,0): dx=1; (1,1): dx=-1, dy=-1 -> sums 1, 1, 2
    expected_beta2 = (1 + 1 + 2) / 9
    expected_beta1 = (1 + 1 + math.sqrt(2)) / 9
    torch.testing.assert_close(total_variation(x, 2, 1.0), torch.tensor([expected_beta2]))
    torch.testing.assert_close(total_variation(x, 1, 1.0), torch.tensor([expected_beta1]))


def test_relative_feature_loss_is_normalized_per_image():
    target = torch.tensor([[3.0, 4.0], [30.0, 40.0]])
    features = torch.tensor([[0.0, 0.0], [30.0, 40.0]])
    torch.testing.assert_close(relative_feature_loss(features, target), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(
        relative_feature_loss(target * 0.5, target), torch.tensor([0.25, 0.25])
    )


def test_alpha_norm_takes_the_absolute_value_for_odd_and_fractional_alpha():
    x = torch.full((1, 1, 2, 2), -0.5)
    for alpha in (6, 3, 2.5):
        expected = torch.tensor([0.5**alpha])  # mean |x|^alpha with bound 1
        torch.testing.assert_close(alpha_norm(x, alpha, 1.0), expected)


def test_precomputed_target_norms_give_the_same_loss():
    from invertibility.methods.objectives import squared_norms

    target, features = torch.randn(3, 5), torch.randn(3, 5)
    torch.testing.assert_close(
        relative_feature_loss(features, target, squared_norms(target)),
        relative_feature_loss(features, target),
    )


@pytest.mark.parametrize(
    "alpha, beta", [(6, 2), (2, 1.5), (4, 1), (8, 3), (3, 2), (2.5, 2), (1, 2)]
)
def test_the_priors_gradient_in_closed_form_equals_autograds(alpha, beta):
    x = torch.randn(3, 2, 5, 7, dtype=torch.float64, requires_grad=True)
    priors = (0.3 * alpha_norm(x, alpha, 1.5) + 0.7 * total_variation(x, beta, 0.4)).sum()
    priors.backward()
    prior_grad = PriorGradient(x, alpha, 1.5, 0.3, beta, 0.4, 0.7)
    torch.testing.assert_close(prior_grad.add_to(torch.ones_like(x)), x.grad + 1)
    with torch.no_grad():  # the same object follows x as it is updated in place
        x.mul_(-0.5).add_(0.1)
    x.grad = None
    (0.3 * alpha_norm(x, alpha, 1.5) + 0.7 * total_variation(x, beta, 0.4)).sum().backward()
    torch.testing.assert_close(prior_grad.add_to(torch.ones_like(x)), x.grad + 1)
