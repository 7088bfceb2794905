import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from nlpcourse.data import synthetic_images
from nlpcourse.models.patches import image_patches, plot_patches


def test_patches_are_row_major_squares():
    image = np.arange(4 * 6 * 3).reshape(4, 6, 3)
    patches = image_patches(image, 2)
    assert patches.shape == (6, 2, 2, 3)
    assert np.array_equal(patches[0], image[:2, :2])
    assert np.array_equal(patches[1], image[:2, 2:4])  # left to right first
    assert np.array_equal(patches[3], image[2:, :2])  # then the next row


def test_same_order_as_a_strided_convolution_reads_them():
    image = synthetic_images.image_to_array(
        synthetic_images.generate(1, image_size=32, seed=0)[0].image
    )
    patches = image_patches(image, 8)  # (16, 8, 8, 3)
    pixels = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None]  # (1, 3, 32, 32)
    conv = torch.nn.Conv2d(3, 5, kernel_size=8, stride=8, bias=False)
    by_conv = conv(pixels).flatten(2).transpose(1, 2)[0]  # (16, 5): what CLIP's ViT embeds
    flat = torch.tensor(patches, dtype=torch.float32).permute(0, 3, 1, 2).flatten(1)  # (16, 192)
    by_hand = flat @ conv.weight.flatten(1).T  # (16, 5)
    torch.testing.assert_close(by_hand, by_conv, rtol=1e-4, atol=1e-3)


def test_bad_patch_size_and_plot():
    with pytest.raises(ValueError, match="divide"):
        image_patches(np.zeros((10, 10, 3)), 3)
    fig = plot_patches(np.zeros((16, 16, 3), dtype=np.uint8), 8)
    assert len(fig.axes) == 1 + 4
    plt.close("all")
