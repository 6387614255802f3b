"""viz: colours come from the VOC palette, overlays leave background alone, figures draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import viz  # noqa: E402
from course_utils.data import voc  # noqa: E402


def test_colorize_uses_palette_and_shows_void_distinctly():
    mask = torch.tensor([[0, 1], [15, 255]])
    rgb = viz.colorize(mask)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 1]) == voc.VOC_COLORMAP[1]
    assert tuple(rgb[1, 0]) == voc.VOC_COLORMAP[15]
    assert tuple(rgb[1, 1]) == voc.VOID_COLOR
    assert tuple(rgb[1, 1]) not in voc.VOC_COLORMAP
    with pytest.raises(ValueError, match=r"\(H, W\) index mask"):
        viz.colorize(torch.zeros(2, 2, 2))


def test_overlay_blends_objects_and_dims_the_rest():
    image = torch.full((3, 2, 3), 0.5)
    mask = torch.tensor([[0, 15, 255], [1, 0, 0]])
    out = viz.overlay(image, mask, alpha=0.5, dim=0.4)
    assert np.allclose(out[0, 0], 0.2) and np.allclose(out[0, 2], 0.2)  # background, void
    expect = 0.5 * 0.5 + 0.5 * np.array(voc.VOC_COLORMAP[15]) / 255
    assert np.allclose(out[0, 1], expect)
    assert np.allclose(viz.overlay(image, mask, dim=1.0)[0, 0], 0.5)


def test_uint8_images_are_scaled_for_overlay():
    image = torch.full((3, 2, 2), 255, dtype=torch.uint8)
    out = viz.overlay(image, torch.zeros(2, 2, dtype=torch.long), dim=1.0)
    assert np.allclose(out, 1.0)


def test_legend_names_the_classes_present():
    fig, ax = plt.subplots()
    viz.add_legend(ax, torch.tensor([15, 0, 255, 15]))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["0 background", "15 person", "255 void"]
    plt.close(fig)


def test_grids_and_segmentation_rows_draw_what_they_are_given():
    img = torch.rand(3, 8, 10)
    mask = torch.zeros(8, 10, dtype=torch.long)
    axes = viz.show_images([img, mask, img], titles=["a", "b", "c"], ncols=2)
    assert axes.shape == (2, 2) and axes[0, 1].get_title() == "b"
    assert not axes[1, 1].images  # the spare cell stays empty
    np.testing.assert_array_equal(axes[0, 1].images[0].get_array(), viz.colorize(mask))
    plt.close("all")
    axes = viz.show_segmentation([img], [mask], [mask])
    assert axes.shape == (1, 3)
    plt.close("all")


def test_the_legend_lists_only_classes_left_visible_by_the_outlines():
    mask = torch.zeros(8, 10, dtype=torch.long)
    mask[2:6, 2:6] = 15  # a person: its inside keeps its colour
    mask[:, 8] = 4  # a one-pixel boat line: all of it is outline
    assert viz.visible_classes(mask) == {0, 15}
    rgb = viz.colorize(mask, outline=True)
    assert not (rgb == viz.PALETTE[4]).all(-1).any()  # indeed no boat colour is drawn
    fig = viz.show_segmentation([torch.rand(3, 8, 10)], [mask]).flat[0].figure
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["0 background", "15 person"]
    plt.close(fig)


def test_outlines_mark_every_label_change_and_nothing_else():
    mask = np.full((6, 8), 12, np.int64)  # a dog (no black: background is the black class)
    mask[2:5, 3:6] = 1  # an aeroplane square
    mask[0, :] = 255  # void keeps its cream colour inside the band
    rgb = viz.colorize(mask, outline=True)
    black = (rgb == 0).all(-1)
    changed = np.zeros_like(black)
    changed[1:] |= mask[1:] != mask[:-1]
    changed[:, 1:] |= mask[:, 1:] != mask[:, :-1]
    assert (black == changed).all() and black.any()
    assert (rgb[~black] == viz.colorize(mask)[~black]).all()


def test_region_labels_name_each_object_class_inside_its_largest_region():
    mask = np.zeros((40, 60), np.int64)
    mask[5:35, 5:25] = 15  # a person
    mask[10:20, 40:58] = 7  # a car
    mask[30:32, 40:42] = 7  # a smaller car: the name goes on the larger one
    mask[38:40, 0:2] = 3  # a bird of 4 pixels: too small to name
    mask[0, :] = 255  # void: never labelled
    fig, ax = plt.subplots()
    texts = viz.label_regions(ax, mask)
    assert sorted(t.get_text() for t in texts) == ["car", "person"]
    for t in texts:
        x, y = t.get_position()
        assert mask[int(y), int(x)] == {"car": 7, "person": 15}[t.get_text()]
        if t.get_text() == "car":
            assert 10 <= y < 20 and x < 57  # inside, and away from the image's right edge
    plt.close(fig)


def test_region_labels_fit_the_image_and_do_not_collide():
    mask = np.zeros((60, 120), np.int64)
    mask[15:45, 0:12] = 11  # a dining table at the left edge, narrower than its name
    mask[0:60, 40:80] = 9  # a chair and a sofa side by side, deepest points level
    mask[0:60, 80:84] = 18
    mask[25:35, 60:84] = 18  # the sofa reaches into the chair's middle
    fig, ax = plt.subplots(figsize=(4, 2))
    texts = viz.label_regions(ax, mask, fontsize=9)
    char_w, line_h = viz._text_size_in_pixels(ax, mask.shape[1], 9)
    boxes = {}
    for t in texts:
        x, y = t.get_position()
        name = t.get_text()
        w = len(name) * char_w
        assert mask[int(y), int(x)] == {"diningtable": 11, "chair": 9, "sofa": 18}[name]
        assert t.get_clip_on()
        x0 = {"center": x - w / 2, "left": x, "right": x - w}[t.get_horizontalalignment()]
        boxes[name] = (x0, x0 + w, y - line_h / 2, y + line_h / 2)
    assert boxes["diningtable"][0] >= 0, "the name runs off the image's left edge"
    a, b = boxes["chair"], boxes["sofa"]
    assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2], "names overlap"
    plt.close(fig)
    crowded = np.zeros((4, 120), np.int64)  # a strip one name high, no room for two names
    crowded[:, 50:54], crowded[:, 54:58] = 9, 18  # each narrower than its name
    fig, ax = plt.subplots(figsize=(4, 2))
    assert [t.get_text() for t in viz.label_regions(ax, crowded, fontsize=9)] == ["chair"]
    plt.close(fig)


def test_wrapped_region_labels_stay_inside_and_apart():
    """``wrap``: one word a line; a name of two lines fits the image's height and does not
    touch a neighbour's (the "boat" / "sofa" pair of notebook 00, side by side)."""
    mask = np.zeros((40, 60), np.int64)
    mask[0:40, 0:30] = 16  # a potted plant filling the left half, top to bottom
    mask[0:40, 30:60] = 20  # a tv/monitor beside it
    mask[2:6, 2:58] = 4  # a thin boat across both, near the top
    fig, ax = plt.subplots(figsize=(2, 1.4))
    texts = viz.label_regions(ax, mask, fontsize=9, wrap=True)
    char_w, line_h = viz._text_size_in_pixels(ax, mask.shape[1], 9)
    names = {t.get_text(): t for t in texts}
    assert "potted\nplant" in names and "tv/\nmonitor" in names
    boxes = []
    for text, t in names.items():
        lines = text.split("\n")
        x, y = t.get_position()
        w, h = max(map(len, lines)) * char_w, len(lines) * line_h
        x0 = {"center": x - w / 2, "left": x, "right": x - w}[t.get_horizontalalignment()]
        assert 0 <= x0 and x0 + w <= mask.shape[1]
        if len(lines) > 1:
            assert h / 2 <= y <= mask.shape[0] - h / 2, f"{text!r} runs off the image"
        boxes.append((x0, x0 + w, y - h / 2, y + h / 2))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2], "names overlap"
    plt.close(fig)


def test_segmentation_rows_never_overlap_their_panels():
    images = [torch.rand(3, 128, 128) for _ in range(2)] + [torch.rand(3, 90, 200)]
    masks = [torch.randint(0, 3, im.shape[1:]) for im in images]
    axes = viz.show_segmentation(images, masks, masks, titles=["a", "b", "c"])
    fig = axes[0, 0].figure
    fig.canvas.draw()
    for row in axes:
        boxes = [ax.get_window_extent() for ax in row]
        for left, right in zip(boxes, boxes[1:], strict=False):
            assert left.x1 <= right.x0 + 1e-6
    plt.close(fig)


def test_show_segmentation_sets_several_models_side_by_side_under_their_titles():
    mask = torch.zeros(8, 10, dtype=torch.long)
    a, b = mask.clone(), mask.clone()
    a[2:6, 2:6] = 15
    b[2:6, 2:6] = 8
    axes = viz.show_segmentation([torch.rand(3, 8, 10)] * 2, [mask] * 2,
                                 {"FCN-8s": [a, a], "U-Net": [b, b]})
    assert axes.shape == (2, 4)
    assert [ax.get_title() for ax in axes[0]] == ["image", "ground truth", "FCN-8s", "U-Net"]
    np.testing.assert_array_equal(axes[1, 3].images[0].get_array(), viz.colorize(b, outline=True))
    texts = [t.get_text() for t in axes[0, 0].figure.legends[0].get_texts()]
    assert texts == ["0 background", "8 cat", "15 person"]  # every column's classes
    plt.close("all")
