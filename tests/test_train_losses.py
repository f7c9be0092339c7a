import pytest
import torch

from training.losses import LOSSES, focal_loss, heatmap_loss, size_loss


def _targets():
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, 2, 2] = 1.0
    target[0, 0, 2, 3] = 0.6
    ignore = torch.zeros(1, 1, 8, 8)
    ignore[0, 0, 5:8, 5:8] = 1.0
    return target, ignore


def test_focal_gradient_is_exactly_zero_inside_the_ignore_mask():
    target, ignore = _targets()
    logits = torch.randn(1, 1, 8, 8, requires_grad=True)
    focal_loss(logits, target, ignore).backward()
    inside = logits.grad[ignore.bool()]
    assert torch.count_nonzero(inside) == 0
    assert torch.count_nonzero(logits.grad[~ignore.bool()]) > 0


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_prefers_the_right_answer_and_ignores_the_mask(name):
    target, ignore = _targets()
    good = torch.where(target == 1.0, 6.0, -6.0)
    bad = -good
    assert heatmap_loss(name, good, target, ignore) < heatmap_loss(name, bad, target, ignore)
    # Anything inside the mask changes nothing.
    noisy = good.clone()
    noisy[ignore.bool()] = 9.0
    assert heatmap_loss(name, noisy, target, ignore) == heatmap_loss(name, good, target, ignore)


def test_unknown_loss_names_the_choices():
    target, ignore = _targets()
    with pytest.raises(ValueError, match="focal"):
        heatmap_loss("l2", target, target, ignore)


def test_size_loss_is_l1_on_log_radius_at_set_cells():
    size = torch.zeros(1, 1, 4, 4)
    size[0, 0, 1, 1] = 16.0
    pred = torch.zeros(1, 1, 4, 4)  # log(16 / 16) = 0: exact
    assert size_loss(pred, size, 16.0) == 0.0
    pred[0, 0, 1, 1] = 1.0
    pred[0, 0, 3, 3] = 5.0  # unset cell: no effect
    assert size_loss(pred, size, 16.0).item() == pytest.approx(1.0)


def test_open_loss_is_zero_outside_hand_cells_and_learns_open_against_other():
    from training.labels import HandLabel
    from training.losses import open_loss
    from training.targets import make_targets

    hands = [HandLabel(20, 20, 12, "open"), HandLabel(70, 40, 12, "other")]
    t = make_targets(hands, (96, 64), 4, others="target")
    target, mask = (torch.from_numpy(m)[None, None] for m in (t.open, t.open_mask))
    assert mask.sum() > 0 and target.sum() > 0 and (target * (1 - mask)).sum() == 0
    logits = torch.randn(1, 1, 16, 24, requires_grad=True)
    open_loss(logits, target, mask).backward()
    assert torch.all(logits.grad[mask == 0] == 0)  # background is never "closed"
    assert torch.any(logits.grad[mask == 1] != 0)
    right = torch.where(target > 0, 6.0, -6.0)
    assert open_loss(right, target, mask) < 0.01 < open_loss(-right, target, mask)
    # no hand cells at all: zero, not NaN
    assert open_loss(logits, torch.zeros_like(target), torch.zeros_like(mask)) == 0
