"""Segmentation networks: upsampling kernels, FCN, U-Net and DeepLab, and pretrained weights.

The course builds each network by hand in its notebook (03 upsampling, 04 FCN, 05 U-Net, 06
DeepLab), then uses these. Every network maps images ``(N, 3, H, W)`` to class logits
``(N, C, H, W)`` of the same height and width. :mod:`.pretrained` fetches torchvision's
published weights when a network (or a warm cache) allows, and says so in one line when not.
"""

from . import pretrained
from .backbone import count_new_parameters, load_encoder_, pad_to_multiple, take_resnet18_stages
from .deeplab import (
    ASPP,
    DeepLab,
    at_output_stride,
    deeplab_head,
    dilate_,
    receptive_field,
    upsample_scores,
    valid_tap_fraction,
)
from .fcn import FCN, FCN_VARIANTS
from .inspection import count_flops, count_parameters, trace_shapes
from .unet import ResNetUNet, UNet, double_conv
from .upsampling import bilinear_kernel, bilinear_upsampler, init_bilinear_

__all__ = [
    "bilinear_kernel", "bilinear_upsampler", "init_bilinear_", "count_parameters", "count_flops",
    "count_new_parameters", "trace_shapes", "pad_to_multiple", "take_resnet18_stages", "FCN",
    "FCN_VARIANTS",
    "double_conv", "UNet", "ResNetUNet", "load_encoder_", "ASPP", "DeepLab", "at_output_stride",
    "deeplab_head", "upsample_scores",
    "dilate_", "receptive_field", "valid_tap_fraction", "pretrained",
]
