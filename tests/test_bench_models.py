"""benchmarks/bench_models.py: FLOPs checked by hand, and one tiny run of the whole table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_models  # noqa: E402


def test_flops_count_a_multiply_add_as_two_hand_worked():
    conv = nn.Conv2d(3, 8, 3, padding=1)  # 8 x 100 outputs, each 3 x 9 multiply-adds
    assert bench_models.flops(conv, (10, 10)) == 2 * 8 * 100 * 3 * 9

    class Up(nn.Module):  # a transposed conv: every input pixel spreads 8 x 16 taps per channel
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1, bias=False)

        def forward(self, x):
            return self.up(x.repeat(1, 3, 1, 1)[:, :8])

    assert bench_models.flops(Up(), (10, 10)) == 2 * 8 * 8 * 16 * 100


def test_one_round_gives_every_architecture_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_models, "SIZE", (64, 96))
    monkeypatch.setattr(bench_models, "architectures",
                        lambda: {k: v for k, v in bench_models.MODELS.items()
                                 if k in ("fcn8s", "unet-resnet18")})
    out = tmp_path / "models.md"
    threads = torch.get_num_threads()
    try:
        assert bench_models.main(["--rounds", "1", "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)  # main sets one thread
    table = json.loads(out.with_suffix(".json").read_text())
    assert set(table["models"]) == {"fcn8s", "unet-resnet18"}
    for row in table["models"].values():
        assert row["params"] > 1e6 and row["gflops"] > 0
        assert row["infer_img_s"] > 0 and row["train_img_s"] > 0
    assert "| unet-resnet18 | 14.33 |" in out.read_text()  # smp's Unet("resnet18"): 14.33 M

