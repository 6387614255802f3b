"""Losses for segmentation (notebook 07): pixel-wise, weighted and focal cross-entropy, Dice.

Every loss takes raw logits and a label map (255 = void, ignored). Where PyTorch has the same
loss, these call it; where they keep a form of their own (a mean of 0 when every pixel is void,
a focal loss with finite gradients at saturated logits) the docstring says why. Notebook 07
derives each one and checks it against PyTorch and torchvision.
"""

from .border_weights import pixel_weighted_cross_entropy, unet_weight_map
from .class_weights import WEIGHT_METHODS, class_weights
from .dice import EPS, ce_dice_loss, soft_dice_loss
from .pixelwise import (
    REDUCTIONS,
    pos_weight_from_mask,
    sigmoid_focal_loss,
    softmax_focal_loss,
    softplus,
    weighted_bce_with_logits,
    weighted_cross_entropy,
)

__all__ = [
    "REDUCTIONS", "softplus", "pos_weight_from_mask", "sigmoid_focal_loss",
    "softmax_focal_loss", "weighted_bce_with_logits", "weighted_cross_entropy",
    "class_weights", "WEIGHT_METHODS", "ce_dice_loss", "EPS", "soft_dice_loss",
    "pixel_weighted_cross_entropy", "unet_weight_map",
]
