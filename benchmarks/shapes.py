"""Benchmark shapes users recognise: ResNet-18 and MobileNet-V2 layers at batch 8, and tiny shapes
where Python overhead dominates. FLOPs (forward + backward, multiply-add = 2) where well defined."""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod


@dataclass(frozen=True)
class Bench:
    op: str
    name: str
    shapes: dict
    config: dict = field(default_factory=dict)
    gflop: float | None = None  # forward + backward
    products: tuple = ()  # the im2col GEMMs of forward, dX and dW, (groups, m, k, n) each: groups (m×k)·(k×n) products

    @property
    def group(self) -> str:
        return f"{self.op} {self.name}"


def _conv_gflop(n, c_in, c_out, out_spatial, kernel, groups=1) -> float:
    forward = 2 * n * c_out * prod(out_spatial) * (c_in // groups) * prod(kernel)
    return 3 * forward / 1e9  # forward, dX and dW each cost one forward


def _conv_products(n, c_in, c_out, out_spatial, kernel, groups=1) -> tuple:
    """The lecture's three products over the whole batch's im2col columns, per group: Z = W·cols,
    dcols = Wᵀ·dZ (dX in scatter form) and dW = dZ·colsᵀ — (groups, m, k, n) each."""
    rows, windows, og = c_in // groups * prod(kernel), n * prod(out_spatial), c_out // groups
    return ((groups, og, rows, windows), (groups, rows, og, windows), (groups, og, windows, rows))


def conv(op, name, n, c_in, c_out, size, k, stride=1, padding=0, groups=1, bias=True):
    nd = len(size)
    out = tuple((s + 2 * padding - k) // stride + 1 for s in size)
    return Bench(op, name, {"x": (n, c_in) + size, "w": (c_out, c_in // groups) + (k,) * nd, "b": (c_out,) if bias else None},
                 {"stride": stride, "padding": padding, "groups": groups}, _conv_gflop(n, c_in, c_out, out, (k,) * nd, groups),
                 _conv_products(n, c_in, c_out, out, (k,) * nd, groups))


BENCHES = [
    # ResNet-18
    conv("conv2d", "resnet18-conv1-b8", 8, 3, 64, (224, 224), 7, 2, 3, bias=False),
    conv("conv2d", "resnet18-layer1-b8", 8, 64, 64, (56, 56), 3, 1, 1, bias=False),
    conv("conv2d", "resnet18-layer3-b8", 8, 256, 256, (14, 14), 3, 1, 1, bias=False),
    conv("conv2d", "resnet18-layer4-down-b8", 8, 256, 512, (14, 14), 3, 2, 1, bias=False),
    conv("conv2d", "small-b2", 2, 3, 4, (8, 8), 3, 1, 1),
    conv("conv1d", "audio-b8", 8, 64, 64, (1024,), 3, 1, 1),
    conv("conv1d", "small-b2", 2, 3, 4, (16,), 3, 1, 1),
    Bench("conv_transpose2d", "dcgan-up-b8", {"x": (8, 256, 14, 14), "w": (256, 128, 4, 4), "b": (128,)},
          {"stride": 2, "padding": 1}, _conv_gflop(8, 128, 256, (14, 14), (4, 4)),
          _conv_products(8, 128, 256, (14, 14), (4, 4))),  # the adjoint of a 128 → 256 channel convolution
    Bench("max_pool2d", "resnet18-stem-b8", {"x": (8, 64, 112, 112)}, {"kernel_size": 3, "stride": 2, "padding": 1}),
    Bench("max_pool2d", "small-b2", {"x": (2, 3, 8, 8)}, {"kernel_size": 2}),
    Bench("avg_pool2d", "2x2-b8", {"x": (8, 64, 56, 56)}, {"kernel_size": 2}),
    Bench("adaptive_avg_pool2d", "resnet18-global-b8", {"x": (8, 512, 7, 7)}, {"output_size": 1}),
    Bench("interpolate", "bilinear-x2-b8", {"x": (8, 64, 56, 56)}, {"scale_factor": 2.0, "mode": "bilinear", "align_corners": False}),
    Bench("interpolate", "nearest-x2-b8", {"x": (8, 64, 56, 56)}, {"scale_factor": 2.0, "mode": "nearest"}),
    # MobileNet-V2
    Bench("depthwise_conv2d", "mobilenetv2-dw-144-b8", {"x": (8, 144, 56, 56), "w": (144, 1, 3, 3), "b": None},
          {"stride": 1, "padding": 1}, _conv_gflop(8, 144, 144, (56, 56), (3, 3), 144)),
    Bench("depthwise_conv2d", "mobilenetv2-dw-s2-96-b8", {"x": (8, 96, 112, 112), "w": (96, 1, 3, 3), "b": None},
          {"stride": 2, "padding": 1}, _conv_gflop(8, 96, 96, (56, 56), (3, 3), 96)),
    conv("conv2d", "mobilenetv2-pointwise-b8", 8, 144, 24, (56, 56), 1),
    Bench("separable_conv2d", "mobilenetv2-block-b8", {"x": (8, 144, 28, 28), "w_dw": (144, 1, 3, 3), "w_pw": (32, 144, 1, 1),
                                                        "b_dw": None, "b_pw": None}, {"stride": 1, "padding": 1},
          _conv_gflop(8, 144, 144, (28, 28), (3, 3), 144) + _conv_gflop(8, 144, 32, (28, 28), (1, 1))),
    # transform-invariant
    Bench("transform_lifting_conv2d", "p4-cifar-b8", {"x": (8, 3, 32, 32), "w": (16, 3, 3, 3), "b": None},
          {"padding": 1, "group": "p4"}, _conv_gflop(8, 3, 64, (32, 32), (3, 3))),
    Bench("transform_group_conv2d", "p4-cifar-b8", {"x": (8, 16, 4, 32, 32), "w": (16, 16, 4, 3, 3), "b": None},
          {"padding": 1, "group": "p4"}, _conv_gflop(8, 64, 64, (32, 32), (3, 3))),
]
