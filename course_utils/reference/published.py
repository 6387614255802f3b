"""Published numbers the notebooks set beside the course's runs, each with its source and what it
was measured on, so a learner can look them up and see why they differ from the mini set's.

They are quotations, not results of this course: nothing here is computed. Percentages as the
papers print them. torchvision's own table is read from its weights' metadata instead
(:func:`course_utils.models.published_miou`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    """A published table: ``rows`` maps a model to its values, in the order of ``columns``."""

    source: str
    measured_on: str
    columns: tuple[str, ...]
    rows: dict[str, tuple[float, ...]]
    decimals: int = 2  # as the source prints them

    def lines(self) -> list[str]:
        """The table as text lines, then its source and what it was measured on."""
        width = max(len(name) for name in self.rows) + 2
        out = [" " * width + "".join(f"{c:>16}" for c in self.columns)]
        out += [f"{name:<{width}}" + "".join(f"{v:>16.{self.decimals}f}" for v in values)
                for name, values in self.rows.items()]
        return out + [f"source: {self.source}", f"measured on: {self.measured_on}"]


FCN_SKIPS = Published(
    source="Long, Shelhamer and Darrell, Fully Convolutional Networks for Semantic "
           "Segmentation, CVPR 2015, Table 2 (arXiv:1411.4038)",
    measured_on="VGG-16 pretrained on ImageNet, fine-tuned on 8,498 SBD images; scored on "
                "736 images of PASCAL VOC 2011 val (those not in SBD's training set)",
    columns=("pixel acc (%)", "mean IU (%)"),
    rows={"FCN-32s": (89.1, 59.4), "FCN-16s": (90.0, 62.4), "FCN-8s": (90.3, 62.7)},
    decimals=1,
)

DEEPLABV3_OUTPUT_STRIDE = Published(
    source="Chen, Papandreou, Schroff and Adam, Rethinking Atrous Convolution for Semantic "
           "Image Segmentation (DeepLabv3), 2017, Table 6 (arXiv:1706.05587); multiply-adds "
           "from DeepLabv3+ (Chen et al., ECCV 2018), Table 3",
    measured_on="ResNet-101 pretrained on ImageNet, Multi-Grid (1, 2, 4), with ASPP (rates 6, "
                "12, 18) and image pooling, trained at output stride 16 on 10,582 VOC 2012 + "
                "SBD images (513 x 513 crops); scored on VOC 2012 val (1,449 images), single "
                "scale",
    columns=("mIoU (%)", "mult-adds (G)"),
    rows={"evaluated at OS 16": (77.21, 81.02), "evaluated at OS 8": (78.51, 276.18)},
)

DEEPLABV3_TRAIN_STRIDE = Published(
    source="Chen, Papandreou, Schroff and Adam, Rethinking Atrous Convolution for Semantic "
           "Image Segmentation (DeepLabv3), 2017, Table 1 (arXiv:1706.05587)",
    measured_on="ResNet-50 pretrained on ImageNet with a cascade of atrous blocks (its last "
                "block copied as blocks 5 to 7, no ASPP), trained and evaluated at each output "
                "stride on 10,582 VOC 2012 + SBD images (513 x 513 crops); scored on VOC 2012 "
                "val, single scale",
    columns=("mIoU (%)",),
    rows={"trained at OS 32": (70.06,), "trained at OS 16": (73.88,), "trained at OS 8": (75.18,)},
)

MMSEG_VOC = Published(
    source="mmsegmentation model zoo, configs/fcn/README.md and configs/deeplabv3/README.md "
           "(Pascal VOC 2012 + Aug, 512 x 512 crops, 20k iterations)",
    measured_on="ResNet-50 pretrained on ImageNet, dilated to output stride 8 in both (so this "
                "'FCN' is a plain convolutional head on a dilated backbone, not FCN-8s); VOC "
                "2012 val, single scale",
    columns=("mIoU (%)",),
    rows={"FCN R-50-D8": (67.08,), "DeepLabV3 R-50-D8": (76.17,)},
)
