#!/usr/bin/env python3
"""Generate small PyTorch golden fixtures (safetensors) for the swift-mocca tests.

What it generates (all in Tests/Fixtures/golden/, relative to the repository root,
located from this script's own path):

    conv2d.safetensors                  Conv2d 3->4, 3x3, stride 2, pad 1, bias
    conv2d_5x5.safetensors              Conv2d 3->4, 5x5, stride 1, pad 2, no bias
    conv_transpose2d.safetensors        ConvTranspose2d 4->3, 5x5, stride 2, pad 2, out_pad 1, bias
    conv_transpose2d_s1.safetensors     ConvTranspose2d 8->5, 5x5, stride 1, pad 2, no bias
    linear.safetensors                  Linear 5->4
    batchnorm2d.safetensors             BatchNorm2d(3), affine, train step + eval output
    batchnorm2d_noaffine.safetensors    BatchNorm2d(3, eps=1e-4, affine=False)
    batchnorm1d.safetensors             BatchNorm1d(5, eps=1e-4, affine=False)
    activations.safetensors             leaky_relu (0.01 and 0.2), relu, sigmoid, tanh
    pooling.safetensors                 max pool 2x2, global avg pool, adaptive max pool, nearest x2
    losses.safetensors                  batch-mean of per-sample SSE, squared distance to a centre
    cifar_ae.safetensors                the CIFAR-10 LeNet autoencoder of shared/bench/torch_cifar_ae.py, batch 8
    mvtec_ae.safetensors                the MVTec residual AE (3x16x16, code 8, selectors), batch 4
    mvtec_ae_gray.safetensors           the same, 1 channel, without selectors
    mlp_ae.safetensors                  the MLP AE `mlp` (7 -> 6 -> 5 -> code 3, mirrored), batch 5:
                                        taps, reconstruction, loss, every gradient; train then eval
    mlp_ae_bn.safetensors               the same with batchNorm (non-affine BatchNorm1d, eps 1e-4)
    residual_ops.safetensors            1x1 stride-2 transposed conv (output padding 1), unpadded conv, residual sum
    conv3d.safetensors                  the video model's 3-D ops: Conv3d, causal Conv3d, ConvTranspose3d,
                                        BatchNorm3d (train step + eval), tanh on [N,C,T,H,W]
    lstm.safetensors                    LSTM(4 -> 6), batch first, 5 steps: outputs and gradients
    video_ae.safetensors                the video AE `video-c3d` (1x16x32x32, code 8, LSTM heads of 5), batch 3
    optim.safetensors                   Adam / AdamW / SGD (+momentum) / MultiStepLR trajectories
    safetensors_interop.safetensors     tiny file for reader/writer byte compatibility
    safetensors_interop.header.txt      the raw header JSON of the file above (incl. padding)

How to run (from anywhere):

    /tmp/torch-ref/bin/python scripts/make-golden.py                  # every file
    /tmp/torch-ref/bin/python scripts/make-golden.py --only cifar_ae  # one group (repeatable)

Groups for --only: convs, bns, activations, pooling, losses, cifar_ae, mvtec_ae, mlp, residual_ops,
conv3d, lstm, video_ae, optim, interop.

Conventions
-----------
* Every input, weight, bias and upstream gradient ``gy`` comes from ``det_fill`` (below),
  which the Swift side reimplements bit-exactly, so values can be regenerated without the
  file (small ones are stored anyway).  One exception: cifar_ae's input x starts from
  det_fill and is then nudged away from LeakyReLU kinks and max-pool ties (see
  ``condition_cifar_input``); it is stored.  mlp's x is a plain det_fill whose seed is
  searched for (of seeds 300..1299, the one whose LeakyReLU inputs, train and eval passes,
  stay farthest from the kink; at least 1e-3); it is stored too.
* Where a fixture says ``det_fill(...) + c`` the addition is done in float32 on the float32
  det_fill result.
* Layer / network references (files 1-12) are computed in float64 from those float32-exact
  inputs and parameters, then rounded to float32 for storage ("compute_dtype" metadata).
  The optimizer fixture (13) runs PyTorch's optimizers on float32 params, as PyTorch would.
* Gradients: y = layer(x); gy = det_fill(y.shape, seed, 1.0); (y * gy).sum().backward().
* All stored tensors are float32, C-contiguous.  Metadata values are strings.
* safetensors writes the header as: "__metadata__" first, then the tensors sorted by name
  (data laid out in that same order), compact JSON, padded with spaces to a multiple of 8.
  The order of keys *inside* "__metadata__" comes from a Rust HashMap and varies between
  runs, so after writing this script sorts those keys in place (same length, same offsets):
  running the script twice gives identical bytes.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_num_threads(1)
torch.manual_seed(0)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "Tests", "Fixtures", "golden")
REF = torch.float64  # dtype of the reference computations for files 1-12

PHI = 0.6180339887498949   # 1/golden ratio
PLASTIC = 0.7548776662466927  # 1/plastic number


def det_fill(shape, seed, scale=1.0):
    """Deterministic fill shared with Swift.

    n = prod(shape); for i in 0..<n (float64):
        v = (i * 0.6180339887498949 + seed * 0.7548776662466927) mod 1.0
        value = scale * (2 * v - 1)
    then cast to float32 and reshape in C order.
    """
    shape = tuple(int(s) for s in shape)
    n = int(np.prod(shape)) if shape else 1
    v = np.mod(np.arange(n, dtype=np.float64) * PHI + float(seed) * PLASTIC, 1.0)
    out = float(scale) * (2.0 * v - 1.0)
    return out.astype(np.float32).reshape(shape)


def t32(shape, seed, scale=1.0):
    """det_fill as a float32 torch tensor."""
    return torch.from_numpy(det_fill(shape, seed, scale))


def ref(t, grad=False):
    """float32-exact tensor -> reference dtype leaf."""
    r = t.detach().to(REF).clone()
    return r.requires_grad_(grad)


def f32(t):
    return t.detach().to(torch.float32).contiguous().clone()


BASE_META = {
    "generator": "scripts/make-golden.py",
    "torch_version": torch.__version__,
    "det_fill": "v=(i*0.6180339887498949+seed*0.7548776662466927) mod 1 (float64); "
                "value=float32(scale*(2*v-1))",
}


def canonicalize_metadata(path):
    """Rewrite the header's __metadata__ object with its keys sorted, in place.

    safetensors (0.8) serializes __metadata__ from a Rust HashMap, so the order of the
    metadata keys changes from run to run; tensor entries are already sorted by name.
    Sorting is a pure permutation of the JSON text, so the header length, padding and data
    offsets are unchanged and the regenerated files are byte-for-byte reproducible.
    """
    with open(path, "rb") as f:
        data = bytearray(f.read())
    (hlen,) = struct.unpack("<Q", data[:8])
    header = data[8:8 + hlen].decode("utf-8")
    parsed = json.loads(header, object_pairs_hook=lambda kv: kv)  # keep the file's order
    entries = dict(parsed)
    if "__metadata__" not in entries:
        return
    meta_pairs = entries["__metadata__"]
    prefix = '{"__metadata__":'
    as_is = json.dumps(dict(meta_pairs), separators=(",", ":"), ensure_ascii=False)
    assert header.startswith(prefix + as_is), "unexpected header layout"
    ordered = json.dumps(dict(sorted(meta_pairs)), separators=(",", ":"), ensure_ascii=False)
    new = (prefix + ordered + header[len(prefix) + len(as_is):]).encode("utf-8")
    assert len(new) == hlen
    data[8:8 + hlen] = new
    with open(path, "wb") as f:
        f.write(bytes(data))


def save(name, tensors, meta):
    path = os.path.join(OUT, name)
    tensors = {k: f32(v) for k, v in tensors.items()}
    for k, v in tensors.items():
        assert v.dtype == torch.float32 and v.is_contiguous(), k
        assert torch.isfinite(v).all(), f"{name}:{k} not finite"
    md = dict(BASE_META)
    md.update({k: str(v) for k, v in meta.items()})
    save_file(tensors, path, metadata=md)
    canonicalize_metadata(path)
    os.chmod(path, 0o644)
    print(f"{name:36s} {os.path.getsize(path):9d} bytes  keys={list(tensors)}")
    return path


def set_param(p, value32):
    with torch.no_grad():
        p.copy_(value32.to(p.dtype))


# --------------------------------------------------------------------------- layers
def conv_like(name, module, x_shape, x_seed, w_seed, w_scale, b_seed, b_scale, gy_seed, meta):
    module = module.to(REF)
    x32 = t32(x_shape, x_seed, 1.0)
    w32 = t32(module.weight.shape, w_seed, w_scale)
    set_param(module.weight, w32)
    out = {"x": x32, "weight": w32}
    if module.bias is not None:
        b32 = t32(module.bias.shape, b_seed, b_scale)
        set_param(module.bias, b32)
        out["bias"] = b32
    x = ref(x32, grad=True)
    y = module(x)
    gy32 = t32(y.shape, gy_seed, 1.0)
    (y * ref(gy32)).sum().backward()
    out.update({"y": y, "gy": gy32, "gx": x.grad, "gweight": module.weight.grad})
    if module.bias is not None:
        out["gbias"] = module.bias.grad
    seeds = {"seed.x": x_seed, "seed.weight": w_seed, "scale.weight": w_scale, "seed.gy": gy_seed}
    if module.bias is not None:
        seeds.update({"seed.bias": b_seed, "scale.bias": b_scale})
    save(name, out, {**meta, **seeds, "compute_dtype": "float64", "x_scale": 1.0})


def make_convs():
    conv_like("conv2d.safetensors", nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=True),
              [2, 3, 7, 7], 1, 2, 0.3, 3, 0.1, 4,
              {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
               "bias": "true"})
    conv_like("conv2d_5x5.safetensors", nn.Conv2d(3, 4, 5, padding=2, bias=False),
              [2, 3, 8, 8], 5, 6, 0.2, None, None, 7,
              {"in_channels": 3, "out_channels": 4, "kernel_size": 5, "stride": 1, "padding": 2,
               "bias": "false"})
    conv_like("conv_transpose2d.safetensors",
              nn.ConvTranspose2d(4, 3, 5, stride=2, padding=2, output_padding=1, bias=True),
              [2, 4, 5, 5], 8, 9, 0.2, 10, 0.1, 11,
              {"in_channels": 4, "out_channels": 3, "kernel_size": 5, "stride": 2, "padding": 2,
               "output_padding": 1, "bias": "true", "weight_layout": "[in,out,kh,kw]"})
    conv_like("conv_transpose2d_s1.safetensors",
              nn.ConvTranspose2d(8, 5, 5, padding=2, bias=False),
              [2, 8, 4, 4], 12, 13, 0.2, None, None, 14,
              {"in_channels": 8, "out_channels": 5, "kernel_size": 5, "stride": 1, "padding": 2,
               "output_padding": 0, "bias": "false", "weight_layout": "[in,out,kh,kw]"})
    conv_like("linear.safetensors", nn.Linear(5, 4),
              [3, 5], 15, 16, 0.4, 17, 0.1, 18,
              {"in_features": 5, "out_features": 4, "bias": "true", "weight_layout": "[out,in]"})


def bn_fixture(name, module, x32, w32, b32, gy_seed, meta):
    module = module.to(REF)
    module.train()
    out = {"x": x32}
    if module.affine:
        set_param(module.weight, w32)
        set_param(module.bias, b32)
        out.update({"weight": w32, "bias": b32})
    x = ref(x32, grad=True)
    y = module(x)
    gy32 = t32(y.shape, gy_seed, 1.0)
    (y * ref(gy32)).sum().backward()
    out.update({"y": y, "gy": gy32, "gx": x.grad})
    if module.affine:
        out.update({"gweight": module.weight.grad, "gbias": module.bias.grad})
    out.update({"running_mean": module.running_mean.clone(),
                "running_var": module.running_var.clone()})
    module.eval()
    with torch.no_grad():
        out["y_eval"] = module(ref(x32))
    save(name, out, {**meta, "eps": module.eps, "momentum": module.momentum,
                     "affine": str(module.affine).lower(), "compute_dtype": "float64",
                     "seed.gy": gy_seed,
                     "running_var": "unbiased batch variance (n/(n-1)); initial mean 0, var 1",
                     "y_eval": "eval-mode output on the same x using the updated running stats"})


def make_bns():
    x = t32([4, 3, 5, 5], 19, 2.0) + 0.5
    w = t32([3], 20, 1.0) + 1.0
    b = t32([3], 21, 0.5)
    bn_fixture("batchnorm2d.safetensors", nn.BatchNorm2d(3, eps=1e-5, momentum=0.1, affine=True),
               x, w, b, 22,
               {"x": "det_fill([4,3,5,5],19,2.0)+0.5", "weight": "det_fill([3],20,1.0)+1.0",
                "bias": "det_fill([3],21,0.5)"})
    bn_fixture("batchnorm2d_noaffine.safetensors",
               nn.BatchNorm2d(3, eps=1e-4, momentum=0.1, affine=False),
               t32([4, 3, 4, 4], 23, 1.5), None, None, 24, {"x": "det_fill([4,3,4,4],23,1.5)"})
    bn_fixture("batchnorm1d.safetensors",
               nn.BatchNorm1d(5, eps=1e-4, momentum=0.1, affine=False),
               t32([6, 5], 25, 1.0), None, None, 26, {"x": "det_fill([6,5],25,1.0)"})


def make_activations():
    x32 = t32([3, 7], 27, 3.0)
    assert (x32 != 0).all()
    gy32 = t32([3, 7], 28, 1.0)
    acts = {
        "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
        "leaky_relu_0.2": lambda x: F.leaky_relu(x, 0.2),
        "relu": F.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }
    out = {"x": x32, "gy": gy32}
    for name, fn in acts.items():
        x = ref(x32, grad=True)
        y = fn(x)
        (y * ref(gy32)).sum().backward()
        out[f"{name}.y"] = y
        out[f"{name}.gx"] = x.grad
    save("activations.safetensors", out,
         {"x": "det_fill([3,7],27,3.0)", "gy": "det_fill([3,7],28,1.0)",
          "leaky_relu.negative_slope": 0.01, "leaky_relu_0.2.negative_slope": 0.2,
          "compute_dtype": "float64"})


def assert_distinct_windows(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    for i in range(0, h - kh + 1, sh):
        for j in range(0, w - kw + 1, sw):
            win = x[:, :, i:i + kh, j:j + kw].reshape(n, c, -1)
            s = win.sort(dim=-1).values
            assert (s[..., 1:] != s[..., :-1]).all(), "tie inside a pooling window"


def make_pooling():
    x32 = t32([2, 3, 6, 6], 29, 1.0)
    assert_distinct_windows(x32, 2, 2, 2, 2)
    out = {"x": x32}
    meta = {"x": "det_fill([2,3,6,6],29,1.0)", "compute_dtype": "float64"}

    def run(key, fn, xin32, gy_seed):
        x = ref(xin32, grad=True)
        y = fn(x)
        gy32 = t32(y.shape, gy_seed, 1.0)
        (y * ref(gy32)).sum().backward()
        out[f"{key}.y"] = y
        out[f"{key}.gy"] = gy32
        out[f"{key}.gx"] = x.grad
        meta[f"{key}.seed.gy"] = gy_seed

    run("maxpool", lambda x: F.max_pool2d(x, 2, 2), x32, 30)
    meta["maxpool"] = "MaxPool2d(kernel_size=2, stride=2)"
    run("gap", lambda x: x.mean(dim=(2, 3)), x32, 31)
    meta["gap"] = "global average pool over H,W -> [N,C]"
    x2 = t32([2, 3, 7, 5], 33, 1.0)
    # adaptive windows: rows [0,4),[3,7); cols [0,2),[1,4),[3,5)
    for (r0, r1) in ((0, 4), (3, 7)):
        for (c0, c1) in ((0, 2), (1, 4), (3, 5)):
            w = x2[:, :, r0:r1, c0:c1].reshape(2, 3, -1).sort(-1).values
            assert (w[..., 1:] != w[..., :-1]).all()
    out["adaptive_max.x"] = x2
    run("adaptive_max", lambda x: F.adaptive_max_pool2d(x, (2, 3)), x2, 32)
    meta["adaptive_max"] = ("F.adaptive_max_pool2d(x2,(2,3)), x2=det_fill([2,3,7,5],33,1.0); "
                            "window i: [floor(i*H/oh), ceil((i+1)*H/oh)) (overlapping)")
    run("upsample", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), x32, 34)
    meta["upsample"] = "F.interpolate(x, scale_factor=2, mode='nearest')"
    save("pooling.safetensors", out, meta)


def make_losses():
    a32 = t32([3, 2, 4, 4], 35, 1.0)
    b32 = t32([3, 2, 4, 4], 36, 1.0)
    a = ref(a32, grad=True)
    mse = torch.mean(torch.sum((a - ref(b32)) ** 2, dim=(1, 2, 3)))
    mse.backward()
    z32 = t32([5, 6], 37, 1.0)
    c32 = t32([6], 38, 1.0)
    z = ref(z32, grad=True)
    c = ref(c32, grad=True)
    d = ((z - c) ** 2).sum(1)
    gy32 = t32(d.shape, 39, 1.0)
    (d * ref(gy32)).sum().backward()
    save("losses.safetensors",
         {"a": a32, "b": b32, "mse": mse.reshape(1), "mse.ga": a.grad,
          "z": z32, "c": c32, "sqdist": d, "sqdist.gy": gy32, "sqdist.gz": z.grad,
          "sqdist.gc": c.grad},
         {"mse": "mean over batch of per-sample sum of (a-b)^2; a=det_fill(.,35), b=det_fill(.,36)",
          "sqdist": "d=((z-c)**2).sum(1); z=det_fill([5,6],37), c=det_fill([6],38), gy seed 39",
          "compute_dtype": "float64"})


# --------------------------------------------------------------------------- CIFAR AE
class CIFAR10LeNetAutoencoder(nn.Module):
    """Same architecture and attribute names as shared/bench/torch_cifar_ae.py (no xavier)."""

    def __init__(self, rep_dim=128):
        super().__init__()
        self.rep_dim = rep_dim
        self.pool = nn.MaxPool2d(2, 2)
        self.conv1 = nn.Conv2d(3, 32, 5, bias=False, padding=2)
        self.bn2d1 = nn.BatchNorm2d(32, eps=1e-04, affine=False)
        self.conv2 = nn.Conv2d(32, 64, 5, bias=False, padding=2)
        self.bn2d2 = nn.BatchNorm2d(64, eps=1e-04, affine=False)
        self.conv3 = nn.Conv2d(64, 128, 5, bias=False, padding=2)
        self.bn2d3 = nn.BatchNorm2d(128, eps=1e-04, affine=False)
        self.fc1 = nn.Linear(128 * 4 * 4, rep_dim, bias=False)
        self.bn1d = nn.BatchNorm1d(rep_dim, eps=1e-04, affine=False)
        self.deconv1 = nn.ConvTranspose2d(rep_dim // 16, 128, 5, bias=False, padding=2)
        self.bn2d4 = nn.BatchNorm2d(128, eps=1e-04, affine=False)
        self.deconv2 = nn.ConvTranspose2d(128, 64, 5, bias=False, padding=2)
        self.bn2d5 = nn.BatchNorm2d(64, eps=1e-04, affine=False)
        self.deconv3 = nn.ConvTranspose2d(64, 32, 5, bias=False, padding=2)
        self.bn2d6 = nn.BatchNorm2d(32, eps=1e-04, affine=False)
        self.deconv4 = nn.ConvTranspose2d(32, 3, 5, bias=False, padding=2)

    def forward(self, x):
        x = self.pool(F.leaky_relu(self.bn2d1(self.conv1(x))))
        x = self.pool(F.leaky_relu(self.bn2d2(self.conv2(x))))
        x = self.pool(F.leaky_relu(self.bn2d3(self.conv3(x))))
        x = self.bn1d(self.fc1(x.reshape(x.size(0), -1)))
        x = F.leaky_relu(x.reshape(x.size(0), self.rep_dim // 16, 4, 4))
        x = F.interpolate(F.leaky_relu(self.bn2d4(self.deconv1(x))), scale_factor=2)
        x = F.interpolate(F.leaky_relu(self.bn2d5(self.deconv2(x))), scale_factor=2)
        x = F.interpolate(F.leaky_relu(self.bn2d6(self.deconv3(x))), scale_factor=2)
        return torch.sigmoid(self.deconv4(x))


CIFAR_WEIGHTS = ["conv1", "conv2", "conv3", "fc1", "deconv1", "deconv2", "deconv3", "deconv4"]
CIFAR_BNS = ["bn2d1", "bn2d2", "bn2d3", "bn1d", "bn2d4", "bn2d5", "bn2d6"]


def fan_in(w):
    # Conv2d [out,in,kh,kw], Linear [out,in], ConvTranspose2d [in,out,kh,kw]: all use dim 1.
    return int(w.shape[1] * int(np.prod(w.shape[2:])))


CIFAR_BATCH = 8          # BatchNorm statistics over 8 images (batch 2 was ill-conditioned)
CIFAR_MARGIN = 1e-3      # required distance of every LeakyReLU input / max-pool top-2 gap from its tie
CIFAR_FIRST_SEED = 99    # x seeds are tried in sequence from here
CIFAR_SEED_TRIES = 20
CIFAR_REPAIR_STEPS = 3000
LEAKY_SLOPE = 0.01


def cifar_model(dtype):
    """The AE with det_fill weights (weight k: det_fill(shape, 100+k, 1/sqrt(fan_in))) in `dtype`;
    returns (model, scales)."""
    model = CIFAR10LeNetAutoencoder(rep_dim=128)
    scales = {}
    for k, name in enumerate(CIFAR_WEIGHTS):
        w = getattr(model, name).weight
        scale = 1.0 / np.sqrt(float(fan_in(w)))
        set_param(w, t32(w.shape, 100 + k, scale))
        scales[name] = (scale, 100 + k, fan_in(w))
    return model.to(dtype), scales


def capture_bn_outputs(model):
    """Register hooks that record every BatchNorm output (= the input of the LeakyReLU that
    follows it; for bn1d that is the code fed to the decoder's first LeakyReLU)."""
    bn_out = {}
    hooks = [getattr(model, n).register_forward_hook(
        lambda m, i, o, n=n: bn_out.__setitem__(n, o)) for n in CIFAR_BNS]
    return bn_out, hooks


def pool_gaps(a):
    """Gap between the largest and second largest value of every 2x2/stride-2 window."""
    n, c, h, w = a.shape
    win = a.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    top = win.topk(2, dim=1).values
    return top[:, 0] - top[:, 1]


def pool_margin(a):
    """Smallest gap between the largest and second largest value of any 2x2/stride-2 window."""
    return float(pool_gaps(a).min())


def cifar_tie_distances(bn_out):
    """Distance of every non-smooth point from its tie, in BatchNorm-output units:
    kink.<bn>: |BN output| (the LeakyReLU input); pool.<bn>: top1-top2 gap of each max-pool
    window of LeakyReLU(bn output), measured on the BN outputs (LeakyReLU is strictly
    increasing, so the window's argmax is decided by the BN outputs; on the negative side the
    LeakyReLU output gap is LEAKY_SLOPE times this one, and so is its rounding error)."""
    d = {f"kink.{n}": a.abs() for n, a in bn_out.items()}
    for n in ("bn2d1", "bn2d2", "bn2d3"):
        d[f"pool.{n}"] = pool_gaps(bn_out[n])
    return d


def condition_cifar_input(model, seed):
    """x = det_fill([B,3,32,32], seed, 0.5) + 0.5, then nudged deterministically (float64,
    one thread) until every tie distance of cifar_tie_distances is >= CIFAR_MARGIN.

    No seed gets there by itself: batch 8 has ~6e5 LeakyReLU inputs and ~1e5 pool windows,
    and several hundred of them (699 for seed 99) lie within 1e-3 of their tie.  The repair
    minimises sum(relu(2*CIFAR_MARGIN - distance)) over x with Adam (lr 1e-4, decaying by
    0.997 per step to a floor of 5e-6), rounding x to float32 and clamping it to [0, 1] after
    every step.  Returns (x32, steps) or (None, steps) when it fails within CIFAR_REPAIR_STEPS."""
    x0 = t32([CIFAR_BATCH, 3, 32, 32], seed, 0.5) + 0.5
    params = list(model.parameters())
    for p in params:
        p.requires_grad_(False)
    bn_out, hooks = capture_bn_outputs(model)
    x = x0.to(REF).clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: max(0.997 ** i, 0.05))
    model.train()
    result = None, CIFAR_REPAIR_STEPS
    for step in range(CIFAR_REPAIR_STEPS + 1):
        model(x)
        dist = cifar_tie_distances(bn_out)
        worst = min(float(v.detach().min()) for v in dist.values())
        if step % 100 == 0:
            bad = sum(int((v < CIFAR_MARGIN).sum()) for v in dist.values())
            print(f"    seed {seed} step {step}: {bad} ties closer than {CIFAR_MARGIN:g}, "
                  f"min distance {worst:.2e}", flush=True)
        if worst >= CIFAR_MARGIN:
            result = f32(x), step
            break
        if step == CIFAR_REPAIR_STEPS:
            break
        loss = sum(torch.relu(2 * CIFAR_MARGIN - v).sum() for v in dist.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            x.copy_(x.clamp(0, 1).to(torch.float32).to(REF))
    for h in hooks:
        h.remove()
    for p in params:
        p.requires_grad_(True)
    return result


def run_cifar_ae(dtype, x32):
    """One train forward/backward and one eval forward of the AE in `dtype` on x32; return
    (tensors, scales, train-mode BN outputs)."""
    model, scales = cifar_model(dtype)
    captured = {}
    model.bn1d.register_forward_hook(lambda m, i, o: captured.__setitem__("code", o.detach().clone()))
    bn_out, hooks = capture_bn_outputs(model)
    x = x32.to(dtype)
    model.train()
    output = model(x)
    for h in hooks:
        h.remove()
    bn_out = {k: v.detach().clone() for k, v in bn_out.items()}
    loss = torch.mean(torch.sum((output - x) ** 2, dim=(1, 2, 3)))
    loss.backward()
    out = {"x": x32, "output": output, "loss": loss.reshape(1), "code": captured["code"]}
    for pname, p in model.named_parameters():
        out[f"grad.{pname}"] = p.grad
    for bn in CIFAR_BNS:
        m = getattr(model, bn)
        out[f"{bn}.running_mean"] = m.running_mean.clone()
        out[f"{bn}.running_var"] = m.running_var.clone()
    model.eval()
    with torch.no_grad():
        out["output_eval"] = model(x)
        out["code_eval"] = captured["code"]
    return {k: v.detach() for k, v in out.items()}, scales, bn_out


def make_cifar_ae():
    B = CIFAR_BATCH
    x32 = None
    for seed in range(CIFAR_FIRST_SEED, CIFAR_FIRST_SEED + CIFAR_SEED_TRIES):
        x32, steps = condition_cifar_input(cifar_model(REF)[0], seed)
        if x32 is not None:
            break
    assert x32 is not None, "no seed could be conditioned"
    x_fill = t32([B, 3, 32, 32], seed, 0.5) + 0.5
    nudge = float((x32 - x_fill).abs().max())
    meta = {"compute_dtype": "float64", "rep_dim": 128, "mode": "train forward+backward, then eval",
            "batch": B,
            "x": f"det_fill([{B},3,32,32],x.seed,0.5)+0.5 (float32 add), then nudged (stored; "
                 f"max |x - det_fill(...)-0.5| = x.max_nudge) until every LeakyReLU input and "
                 f"max-pool top-2 gap is >= {CIFAR_MARGIN:g} from its tie (kink_margin.*, "
                 f"pool_margin.*): Adam on sum(relu({2 * CIFAR_MARGIN:g} - distance)), lr 1e-4 "
                 f"decaying x0.997/step to 5e-6, x rounded to float32 and clamped to [0,1] "
                 f"every step; seeds tried from {CIFAR_FIRST_SEED} in sequence",
            "x.seed": seed, "x.max_nudge": f"{nudge:.3e}", "x.repair_steps": steps,
            "loss": "mean over batch of per-image sum of squared error (output - x)",
            "weights": "det_fill(weight.shape, 100+k, 1/sqrt(fan_in)), k = index in "
                       + ",".join(CIFAR_WEIGHTS) + "; fan_in = shape[1]*prod(shape[2:])",
            "leaky_relu.negative_slope": LEAKY_SLOPE, "bn.eps": 1e-4, "bn.momentum": 0.1,
            "upsample": "F.interpolate(scale_factor=2), nearest"}
    print(f"    x: seed {seed}, {steps} repair steps, max nudge {nudge:.3e}")
    out, scales, bn_out = run_cifar_ae(REF, x32)
    # Non-smooth points, in the float64 reference from the stored float32 x: |BN output| is the
    # distance to the LeakyReLU kink (bn1d: the code fed to the decoder's first LeakyReLU);
    # the pool margin is the top-2 gap of each max-pool window (pooling follows LeakyReLU of
    # bn2d1..3).
    dist = cifar_tie_distances(bn_out)
    meta["margin.required"] = f"{CIFAR_MARGIN:g}"
    meta["kink_margin"] = "min |train-mode BN output| (input of LeakyReLU), float64"
    meta["pool_margin"] = ("min top1-top2 gap of the BN outputs in a 2x2 max-pool window of "
                           "LeakyReLU(bnX) (LeakyReLU is increasing: same argmax), float64")
    meta["pool_margin_after_leaky_relu"] = ("the same gap measured on LeakyReLU(bnX), which the "
                                            "pool sees (>= 0.01 x pool_margin)")
    for n in CIFAR_BNS:
        meta[f"kink_margin.{n}"] = f"{float(dist['kink.' + n].min()):.3e}"
    for n in ("bn2d1", "bn2d2", "bn2d3"):
        meta[f"pool_margin.{n}"] = f"{float(dist['pool.' + n].min()):.3e}"
        meta[f"pool_margin_after_leaky_relu.{n}"] = f"{pool_margin(F.leaky_relu(bn_out[n])):.3e}"
    worst = min(float(v.min()) for v in dist.values())
    assert worst >= CIFAR_MARGIN, f"stored x is not conditioned: {worst}"
    for name, (scale, wseed, fi) in scales.items():
        meta[f"scale.{name}"] = repr(float(scale))
        meta[f"seed.{name}"] = wseed
        meta[f"fan_in.{name}"] = fi
    meta["loss.value"] = repr(float(out["loss"]))
    # How far PyTorch itself lands from this float64 reference when run in float32: a guide
    # for tolerances.
    out32, _, bn_out32 = run_cifar_ae(torch.float32, x32)
    flips = {n: int(((bn_out32[n].double() > 0) != (bn_out[n] > 0)).sum()) for n in bn_out}
    meta["torch_f32_kink_flips"] = json.dumps(flips)
    print("    LeakyReLU sign flips, torch float32 vs float64:", flips)
    meta["torch_f32_deviation"] = ("per key: maxabs(f32-ref)/maxabs(ref) ; norm2(f32-ref)/norm2(ref), "
                                   "PyTorch CPU float32 vs this float64 reference")
    for k, v in out.items():
        if k == "x":
            continue
        r = v.to(torch.float64)
        d = out32[k].to(torch.float64) - r
        mx = float(d.abs().max() / r.abs().max())
        l2 = float(d.norm() / r.norm())
        meta[f"torch_f32_deviation.{k}"] = f"{mx:.3e} ; {l2:.3e}"
    path = save("cifar_ae.safetensors", out, meta)
    size = os.path.getsize(path)
    if size > 3.5 * 1024 * 1024:
        print(f"WARNING: cifar_ae.safetensors is {size} bytes (> 3.5 MiB)")
    for k in out:
        if k != "x":
            print(f"    torch f32 deviation {k:28s} {meta['torch_f32_deviation.' + k]}")
    for k, v in meta.items():
        if k.startswith(("kink_margin.", "pool_margin.", "pool_margin_after_leaky_relu.")):
            print(f"    {k:40s} {v}")


# --------------------------------------------------------------------------- mvtec residual AE
# A twin of Sources/MOCCAModels/ResidualInspectionAutoencoder.swift, written from the MOCCA
# paper's MVTec model (fvmassoli/mocca, models/mvtec_model.py): the attribute names are the
# Swift ones, so state_dict keys are the Swift weight-file keys.
class MvResidual(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(ch), nn.BatchNorm2d(ch)

    def forward(self, x):
        h = self.bn2(self.conv2(F.leaky_relu(self.bn1(self.conv1(x)), LEAKY_SLOPE)))
        return F.leaky_relu(h + x, LEAKY_SLOPE)


class MvDown(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.conv1a = nn.Conv2d(i, o, 3, stride=2, padding=1, bias=False)
        self.conv1b = nn.Conv2d(o, o, 3, padding=1, bias=False)
        self.conv2a = nn.Conv2d(i, o, 1, stride=2, bias=False)
        self.bn1a, self.bn1b, self.bn2a = nn.BatchNorm2d(o), nn.BatchNorm2d(o), nn.BatchNorm2d(o)

    def forward(self, x):
        a = self.bn1b(self.conv1b(F.leaky_relu(self.bn1a(self.conv1a(x)), LEAKY_SLOPE)))
        return F.leaky_relu(a + self.bn2a(self.conv2a(x)), LEAKY_SLOPE)


class MvUp(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.conv1a = nn.ConvTranspose2d(i, o, 5, stride=2, padding=2, output_padding=1, bias=False)
        self.conv1b = nn.Conv2d(o, o, 3, padding=1, bias=False)
        self.conv2a = nn.ConvTranspose2d(i, o, 1, stride=2, output_padding=1, bias=False)
        self.bn1a, self.bn1b, self.bn2a = nn.BatchNorm2d(o), nn.BatchNorm2d(o), nn.BatchNorm2d(o)

    def forward(self, x):
        a = self.bn1b(self.conv1b(F.leaky_relu(self.bn1a(self.conv1a(x)), LEAKY_SLOPE)))
        return F.leaky_relu(a + self.bn2a(self.conv2a(x)), LEAKY_SLOPE)


class MvEncoder(nn.Module):
    def __init__(self, c, s, code):
        super().__init__()
        deep = 256 * (s // 8) ** 2
        self.conv = nn.Conv2d(c, 32, 3, bias=False)
        self.res = MvResidual(32)
        self.dwn1, self.dwn2, self.dwn3 = MvDown(32, 64), MvDown(64, 128), MvDown(128, 256)
        self.fc1, self.bn, self.fc2 = nn.Linear(deep, 256), nn.BatchNorm1d(256), nn.Linear(256, code)


class MvDecoder(nn.Module):
    def __init__(self, c, s, code):
        super().__init__()
        deep = 256 * (s // 8) ** 2
        self.fc1, self.bn1 = nn.Linear(code, 256), nn.BatchNorm1d(256)
        self.fc2, self.bn2 = nn.Linear(256, deep), nn.BatchNorm1d(deep)
        self.up1, self.up2, self.up3 = MvUp(256, 128), MvUp(128, 64), MvUp(64, 32)
        self.res = MvResidual(32)
        self.conv = nn.Conv2d(32, c, 1, bias=False)


class MvSpatialSelector(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, 1, 1)
        self.fc1, self.bn, self.fc2 = nn.Linear(64, 256), nn.BatchNorm1d(256), nn.Linear(256, 128)

    def forward(self, x):
        h = self.conv(F.adaptive_max_pool2d(x, 8)).flatten(1)
        return self.fc2(F.relu(self.bn(self.fc1(h))))


class MvVectorSelector(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1, self.bn, self.fc2 = nn.Linear(d, 256), nn.BatchNorm1d(256), nn.Linear(256, 128)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


class MvGap(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class MvIdentity(nn.Module):
    def forward(self, x):
        return x


MV_SEED_TRIES = 8
MV_TAPS = ["o1", "o2", "o3", "o4", "o5", "o7", "o8", "z"]


class MvAE(nn.Module):
    def __init__(self, c, s, code, selectors):
        super().__init__()
        self.s = s
        self.encoderLayers = MvEncoder(c, s, code)
        self.decoderLayers = MvDecoder(c, s, code)
        widths = [32, 32, 64, 128, 256, 256, code, code]
        self.heads = nn.ModuleList(
            [(MvSpatialSelector(w) if i < 5 else MvVectorSelector(w)) if selectors
             else (MvGap() if i < 5 else MvIdentity()) for i, w in enumerate(widths)])

    def encode(self, x):
        e = self.encoderLayers
        o1 = e.conv(x)
        o2 = e.res(F.leaky_relu(o1, LEAKY_SLOPE))
        o3 = e.dwn1(o2)
        o4 = e.dwn2(o3)
        o5 = e.dwn3(o4)
        o7 = F.leaky_relu(e.bn(e.fc1(o5.flatten(1))), LEAKY_SLOPE)
        o8 = e.fc2(o7)
        return [o1, o2, o3, o4, o5, o7, o8, torch.sigmoid(o8)]

    def decode(self, z):
        d = self.decoderLayers
        h = F.leaky_relu(d.bn1(d.fc1(z)), LEAKY_SLOPE)
        h = F.leaky_relu(d.bn2(d.fc2(h)), LEAKY_SLOPE)
        h = h.view(len(h), 256, self.s // 8, self.s // 8)
        return d.conv(d.res(d.up3(d.up2(d.up1(h)))))


def mv_fill_parameters(model):
    """Parameter i of the sorted state_dict keys (buffers excluded) gets seed 1000 + i:
    BatchNorm weight det_fill(.., 0.2) + 1, BatchNorm bias det_fill(.., 0.1), any other
    bias det_fill(.., 0.1), any other weight det_fill(.., 1/sqrt(fan_in)) with
    fan_in = shape[1]*prod(shape[2:]).  A BatchNorm is a module whose name starts with 'bn'."""
    params = dict(model.named_parameters())
    for i, key in enumerate(sorted(params)):
        p = params[key]
        module, kind = key.split(".")[-2:]
        seed = 1000 + i
        if module.startswith("bn"):
            v = t32(p.shape, seed, 0.2) + 1.0 if kind == "weight" else t32(p.shape, seed, 0.1)
        elif kind == "bias":
            v = t32(p.shape, seed, 0.1)
        else:
            v = t32(p.shape, seed, 1.0 / np.sqrt(float(fan_in(p))))
        set_param(p, v)


MV_GRADS = ["encoderLayers.conv.weight", "encoderLayers.res.bn1.weight", "encoderLayers.dwn1.conv2a.weight",
            "encoderLayers.fc2.bias", "decoderLayers.bn1.bias", "decoderLayers.up3.conv2a.weight",
            "decoderLayers.conv.weight"]
MV_SELECTOR_GRADS = ["heads.0.conv.weight", "heads.4.conv.weight", "heads.2.bn.bias", "heads.5.bn.weight",
                     "heads.7.fc2.bias"]
MV_STATS = ["encoderLayers.bn", "encoderLayers.res.bn2", "decoderLayers.bn1", "decoderLayers.up3.bn2a"]


def mv_margins(model, x):
    """The smallest |input| of any LeakyReLU/ReLU and the smallest top-2 gap of the selectors'
    adaptive max pooling windows, in the train-mode float64 forward: how far the fixture is
    from a branch float32 rounding could flip."""
    kinks, gaps = [], []
    orig_leaky, orig_relu, orig_amp = F.leaky_relu, F.relu, F.adaptive_max_pool2d

    def leaky(t, slope=0.01, *a, **k):
        kinks.append(float(t.detach().abs().min()))
        return orig_leaky(t, slope, *a, **k)

    def relu(t, *a, **k):
        kinks.append(float(t.detach().abs().min()))
        return orig_relu(t, *a, **k)

    def amp(t, size, *a, **k):
        n, c, h, w = t.shape
        for i in range(8):
            for j in range(8):
                r0, r1 = i * h // 8, -(-(i + 1) * h // 8)
                c0, c1 = j * w // 8, -(-(j + 1) * w // 8)
                win = t[:, :, r0:r1, c0:c1].reshape(n, c, -1).detach()
                if win.shape[-1] > 1:
                    top = win.topk(2, dim=-1).values
                    gaps.append(float((top[..., 0] - top[..., 1]).min()))
        return orig_amp(t, size, *a, **k)

    F.leaky_relu, F.relu, F.adaptive_max_pool2d = leaky, relu, amp
    try:
        with torch.no_grad():
            taps = model.encode(x)
            for head, tap in zip(model.heads, taps):
                head(tap)
            model.decode(taps[-1])
    finally:
        F.leaky_relu, F.relu, F.adaptive_max_pool2d = orig_leaky, orig_relu, orig_amp
    return min(kinks), (min(gaps) if gaps else float("inf"))


def run_mvtec_ae(c, s, code, batch, selectors, x_seed, store_maps, dtype=REF, channels_last=False):
    torch.manual_seed(0)
    model = MvAE(c, s, code, selectors)
    mv_fill_parameters(model)
    # Margins on a copy: the BatchNorm running statistics must see exactly one forward.
    probe = MvAE(c, s, code, selectors)
    probe.load_state_dict(model.state_dict())
    model, probe = model.to(dtype), probe.to(dtype).train()
    x32 = t32([batch, c, s, s], x_seed, 0.5) + 0.5
    kink, gap = mv_margins(probe, x32.to(dtype))
    x = x32.to(dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    model.train()
    taps = model.encode(x)
    heads = [h(t) for h, t in zip(model.heads, taps)]
    recon = model.decode(taps[-1])
    loss = torch.mean(torch.sum((recon - x) ** 2, dim=(1, 2, 3)))
    # The scalar differentiated: the loss plus every head output against a fixed det_fill.
    total = loss + sum((hv * t32(hv.shape, 2000 + i, 1.0).to(dtype)).sum() for i, hv in enumerate(heads))
    total.backward()
    out = {"x": x32, "recon": recon, "loss": loss.reshape(1), "grad.x": x.grad}
    for name, t in zip(MV_TAPS, taps):
        if t.dim() == 4 and not store_maps:
            continue
        out[f"tap.{name}"] = t[:1] if name in ("o1", "o2") else t
    for name, hv in zip(MV_TAPS, heads):
        out[f"head.{name}"] = hv
    params = dict(model.named_parameters())
    for key in MV_GRADS + (MV_SELECTOR_GRADS if selectors else []):
        out[f"grad.{key}"] = params[key].grad
    modules = dict(model.named_modules())
    for name in MV_STATS:
        out[f"{name}.running_mean"] = modules[name].running_mean.clone()
        out[f"{name}.running_var"] = modules[name].running_var.clone()
    model.eval()
    with torch.no_grad():
        taps = model.encode(x)
        out["recon_eval"] = model.decode(taps[-1])
        out["head_eval.o3"] = model.heads[2](taps[2])
        out["head_eval.z"] = model.heads[7](taps[7])
        out["tap_eval.z"] = taps[7]
    meta = {"compute_dtype": str(dtype).replace("torch.", ""), "channels": c, "image_size": s,
            "code_length": code, "batch": batch, "selectors": str(selectors).lower(),
            "x": f"det_fill([{batch},{c},{s},{s}],{x_seed},0.5)+0.5 (float32 add)",
            "weights": mv_fill_parameters.__doc__.replace("\n", " "),
            "total": "loss + sum_i (head_i * det_fill(head_i.shape, 2000+i, 1)).sum(); i in tap order",
            "loss": "mean over batch of per-image sum of squared error (recon - x)",
            "tap.o1/o2": "first sample only", "mode": "one train forward+backward, then eval",
            "leaky_relu.negative_slope": LEAKY_SLOPE, "bn.eps": 1e-5, "bn.momentum": 0.1,
            "margin.kink": f"{kink:.3e}", "margin.adaptive_max_top2": f"{gap:.3e}",
            "parameters": ",".join(sorted(params))}
    return {k: v.detach() for k, v in out.items()}, meta


def mv_f32_deviation(c, selectors, store_maps, batch, seed, out):
    """PyTorch's float32 spread: its contiguous and channels_last runs against the float64
    reference `out`, the worse of the two per key, as (max-abs relative, relative L2)."""
    runs = [run_mvtec_ae(c, 16, 8, batch, selectors, seed, store_maps, dtype=torch.float32, channels_last=cl)[0]
            for cl in (False, True)]
    result = {}
    for k, v in out.items():
        if k == "x":
            continue
        r = v.to(torch.float64)
        ds = [o[k].to(torch.float64) - r for o in runs]
        result[k] = (max(float(d.abs().max() / r.abs().max().clamp_min(1e-30)) for d in ds),
                     max(float(d.norm() / r.norm().clamp_min(1e-30)) for d in ds))
    return result


def make_mvtec_ae():
    variants = (("mvtec_ae", 3, True, True, 4, 90), ("mvtec_ae_gray", 1, False, False, 4, 91))
    for name, c, selectors, store_maps, batch, first_seed in variants:
        # The fixture is not conditioned like cifar_ae's: a 1e-7 change of x moves the float64
        # gradients by up to ~1e-2 (BatchNorm over a small batch behind many LeakyReLUs), so
        # any float32 implementation's gradients land 1e-4..1e-2 away depending on the input.
        # Of MV_SEED_TRIES input seeds, keep the one where PyTorch's own float32 gradients
        # (both memory formats) are closest to the reference; the Swift tests scale their
        # bounds by that spread (torch_f32_deviation.*).
        best = None
        for seed in range(first_seed, first_seed + MV_SEED_TRIES * 2, 2):
            out, meta = run_mvtec_ae(c, 16, 8, batch, selectors, seed, store_maps)
            dev = mv_f32_deviation(c, selectors, store_maps, batch, seed, out)
            spread = max(l2 for k, (_, l2) in dev.items() if k.startswith("grad."))
            print(f"    {name}: seed {seed}, worst float32 gradient spread {spread:.2e}")
            if best is None or spread < best[0]:
                best = (spread, seed, out, meta, dev)
        spread, seed, out, meta, dev = best
        meta["x.seed"] = seed
        meta["x.seed_choice"] = (f"of seeds {first_seed}, {first_seed + 2}, ..., {first_seed + 2 * MV_SEED_TRIES - 2}, "
                                 f"the one with the smallest worst torch_f32_deviation L2 of a gradient")
        meta["torch_f32_deviation"] = ("per key: maxabs(f32-ref)/maxabs(ref) ; norm2(f32-ref)/norm2(ref), the worse "
                                       "of PyTorch CPU float32 contiguous and channels_last vs this float64 reference")
        for k, (mx, l2) in dev.items():
            meta[f"torch_f32_deviation.{k}"] = f"{mx:.3e} ; {l2:.3e}"
        save(f"{name}.safetensors", out, meta)
        print(f"    margins: kink {meta['margin.kink']}, adaptive max top-2 {meta['margin.adaptive_max_top2']}")
        for k in out:
            if k != "x":
                print(f"    torch f32 deviation {k:44s} {meta['torch_f32_deviation.' + k]}")


def make_residual_ops():
    """The ops the residual autoencoder adds: a 1x1 stride-2 transposed convolution with output
    padding 1 above its padding 0, an unpadded convolution, and a residual sum of a blocked
    convolution output and a plain tensor (LeakyReLU(conv(x) + x))."""
    out, meta = {}, {"compute_dtype": "float64"}

    def run(key, fn, inputs, gy_seed):
        leaves = [ref(v, grad=True) for v in inputs.values()]
        y = fn(*leaves)
        gy32 = t32(y.shape, gy_seed, 1.0)
        (y * ref(gy32)).sum().backward()
        for (name, v), leaf in zip(inputs.items(), leaves):
            out[f"{key}.{name}"] = v
            out[f"{key}.g{name}"] = leaf.grad
        out[f"{key}.y"], out[f"{key}.gy"] = y, gy32

    run("tconv1x1", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=0, output_padding=1),
        {"x": t32([2, 4, 3, 3], 70), "weight": t32([4, 3, 1, 1], 71, 0.5), "bias": t32([3], 72, 0.1)}, 73)
    meta["tconv1x1"] = "conv_transpose2d(x[2,4,3,3] s70, weight[4,3,1,1] s71 x0.5, bias s72 x0.1, stride 2, pad 0, output_padding 1); gy s73"
    run("conv_nopad", lambda x, w: F.conv2d(x, w, stride=1, padding=0),
        {"x": t32([2, 3, 7, 7], 74), "weight": t32([5, 3, 3, 3], 75, 0.2)}, 76)
    meta["conv_nopad"] = "conv2d(x[2,3,7,7] s74, weight[5,3,3,3] s75 x0.2, no bias, stride 1, pad 0); gy s76"
    run("residual", lambda x, w: F.leaky_relu(F.conv2d(x, w, padding=1) + x, LEAKY_SLOPE),
        {"x": t32([2, 8, 4, 4], 77), "weight": t32([8, 8, 3, 3], 78, 0.2)}, 79)
    meta["residual"] = "leaky_relu(conv2d(x, weight, pad 1) + x, 0.01); x[2,8,4,4] s77, weight[8,8,3,3] s78 x0.2; gy s79"
    save("residual_ops.safetensors", out, meta)


def make_conv3d():
    """The 3-D ops of the video model on [N, C, T, H, W] tensors, each with its gradients for a
    det_fill upstream gradient. The causal convolution pads the time axis with kt-1 zero frames
    before the first frame and none after (as Swift's `causal: true`), so output frame t sees
    input frames t-kt+1 ... t only."""
    out, meta = {}, {"compute_dtype": "float64"}

    def run(key, fn, inputs, gy_seed, desc):
        leaves = [ref(v, grad=True) for v in inputs.values()]
        y = fn(*leaves)
        gy32 = t32(y.shape, gy_seed, 1.0)
        (y * ref(gy32)).sum().backward()
        for (name, v), leaf in zip(inputs.items(), leaves):
            out[f"{key}.{name}"] = v
            out[f"{key}.g{name}"] = leaf.grad
        out[f"{key}.y"], out[f"{key}.gy"] = y, gy32
        meta[key] = desc + f"; gy s{gy_seed}"

    run("conv_s122", lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 2), padding=1),
        {"x": t32([2, 3, 4, 6, 6], 200), "weight": t32([4, 3, 3, 3, 3], 201, 0.2), "bias": t32([4], 202, 0.1)}, 203,
        "conv3d(x[2,3,4,6,6] s200, weight[4,3,3,3,3] s201 x0.2, bias s202 x0.1, stride (1,2,2), padding 1)")
    run("conv_s222", lambda x, w: F.conv3d(x, w, None, stride=2, padding=1),
        {"x": t32([2, 3, 5, 6, 7], 204), "weight": t32([5, 3, 3, 3, 3], 205, 0.2)}, 206,
        "conv3d(x[2,3,5,6,7] s204, weight[5,3,3,3,3] s205 x0.2, no bias, stride (2,2,2), padding 1)")
    run("causal", lambda x, w, b: F.conv3d(F.pad(x, (0, 0, 0, 0, 2, 0)), w, b, stride=1, padding=(0, 1, 1)),
        {"x": t32([2, 3, 5, 4, 4], 207), "weight": t32([4, 3, 3, 3, 3], 208, 0.2), "bias": t32([4], 209, 0.1)}, 210,
        "causal conv3d: conv3d(F.pad(x, time: 2 zero frames before, 0 after), weight, bias, stride 1, "
        "padding (0,1,1)); x[2,3,5,4,4] s207, weight[4,3,3,3,3] s208 x0.2, bias s209 x0.1")
    run("tconv_s222", lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=2, output_padding=1),
        {"x": t32([2, 4, 3, 3, 3], 211), "weight": t32([4, 3, 5, 5, 5], 212, 0.1), "bias": t32([3], 213, 0.1)}, 214,
        "conv_transpose3d(x[2,4,3,3,3] s211, weight[4,3,5,5,5] (layout [in,out,kt,kh,kw]) s212 x0.1, bias s213 x0.1, "
        "stride 2, padding 2, output_padding 1)")
    run("tconv_s122", lambda x, w: F.conv_transpose3d(x, w, None, stride=(1, 2, 2), padding=2, output_padding=(0, 1, 1)),
        {"x": t32([2, 4, 3, 3, 3], 215), "weight": t32([4, 3, 5, 5, 5], 216, 0.1)}, 217,
        "conv_transpose3d(x[2,4,3,3,3] s215, weight[4,3,5,5,5] s216 x0.1, no bias, stride (1,2,2), padding 2, "
        "output_padding (0,1,1))")
    run("tconv1x1", lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=0, output_padding=1),
        {"x": t32([2, 4, 2, 3, 3], 218), "weight": t32([4, 3, 1, 1, 1], 219, 0.5), "bias": t32([3], 220, 0.1)}, 221,
        "conv_transpose3d(x[2,4,2,3,3] s218, weight[4,3,1,1,1] s219 x0.5, bias s220 x0.1, stride 2, padding 0, "
        "output_padding 1)")
    run("tanh", torch.tanh, {"x": t32([2, 3, 2, 3, 4], 222, 3.0)}, 223, "tanh(x[2,3,2,3,4] s222 x3)")

    # BatchNorm3d: one train step (batch statistics, running stats updated with momentum 0.1 and
    # the unbiased batch variance from mean 0 / var 1), then eval on the same x.
    for key, affine, eps, seed in (("bn", True, 1e-5, 224), ("bn_noaffine", False, 1e-4, 228)):
        m = nn.BatchNorm3d(3, eps=eps, momentum=0.1, affine=affine).to(REF)
        m.train()
        x32 = t32([2, 3, 3, 4, 4], seed, 2.0) + 0.5
        out[f"{key}.x"] = x32
        desc = f"BatchNorm3d(3, eps {eps:g}, momentum 0.1, affine {str(affine).lower()}); x = det_fill([2,3,3,4,4],{seed},2)+0.5"
        if affine:
            w32, b32 = t32([3], seed + 1, 1.0) + 1.0, t32([3], seed + 2, 0.5)
            set_param(m.weight, w32)
            set_param(m.bias, b32)
            out[f"{key}.weight"], out[f"{key}.bias"] = w32, b32
            desc += f", weight det_fill([3],{seed + 1},1)+1, bias det_fill([3],{seed + 2},0.5)"
        x = ref(x32, grad=True)
        y = m(x)
        gy32 = t32(y.shape, seed + 3, 1.0)
        (y * ref(gy32)).sum().backward()
        out[f"{key}.y"], out[f"{key}.gy"], out[f"{key}.gx"] = y, gy32, x.grad
        if affine:
            out[f"{key}.gweight"], out[f"{key}.gbias"] = m.weight.grad, m.bias.grad
        out[f"{key}.running_mean"], out[f"{key}.running_var"] = m.running_mean.clone(), m.running_var.clone()
        m.eval()
        with torch.no_grad():
            out[f"{key}.y_eval"] = m(ref(x32))
        meta[key] = desc + f"; gy s{seed + 3}; running stats after the train step; y_eval in eval mode with them"
    save("conv3d.safetensors", out, meta)


# --------------------------------------------------------------------------- video AE (video-c3d)
# A twin of Sources/MOCCAModels/VideoAutoencoder.swift, written from the MOCCA paper's
# ShanghaiTech model (fvmassoli/mocca, models/shanghaitech_model.py, from LSA): the attribute
# names are the Swift ones, so state_dict keys are the Swift weight-file keys.
VID_STRIDES = [(1, 2, 2), (1, 2, 2), (2, 2, 2), (1, 2, 2), (2, 2, 2)]
VID_WIDTHS = [8, 16, 32, 64, 64]
VID_TAPS = ["c1", "c2", "c3", "c4", "c5", "fc1", "code"]


class CausalConv3d(nn.Conv3d):
    """Conv3d whose time axis is padded with kt-1 zero frames before and none after (Swift's
    `causal: true`): output frame t sees input frames t-kt+1 ... t. `padding` is (h, w)."""

    def __init__(self, i, o, k, stride, padding_hw):
        super().__init__(i, o, k, stride=stride, padding=(0,) + tuple(padding_hw), bias=False)

    def forward(self, x):
        return super().forward(F.pad(x, (0, 0, 0, 0, self.kernel_size[0] - 1, 0)))


class VidDown(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1a = CausalConv3d(i, o, 3, stride, (1, 1))
        self.conv1b = CausalConv3d(o, o, 3, 1, (1, 1))
        self.conv2a = nn.Conv3d(i, o, 1, stride=stride, bias=False)
        self.bn1a, self.bn1b, self.bn2a = nn.BatchNorm3d(o), nn.BatchNorm3d(o), nn.BatchNorm3d(o)

    def forward(self, x):
        a = self.bn1b(self.conv1b(F.leaky_relu(self.bn1a(self.conv1a(x)), LEAKY_SLOPE)))
        return F.leaky_relu(a + self.bn2a(self.conv2a(x)), LEAKY_SLOPE)


class VidUp(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        op = tuple(s - 1 for s in stride)
        self.conv1a = nn.ConvTranspose3d(i, o, 5, stride=stride, padding=2, output_padding=op, bias=False)
        self.conv1b = nn.Conv3d(o, o, 3, padding=1, bias=False)
        self.conv2a = nn.ConvTranspose3d(i, o, 1, stride=stride, output_padding=op, bias=False)
        self.bn1a, self.bn1b, self.bn2a = nn.BatchNorm3d(o), nn.BatchNorm3d(o), nn.BatchNorm3d(o)

    def forward(self, x):
        a = self.bn1b(self.conv1b(F.leaky_relu(self.bn1a(self.conv1a(x)), LEAKY_SLOPE)))
        return F.leaky_relu(a + self.bn2a(self.conv2a(x)), LEAKY_SLOPE)


class VidEncoder(nn.Module):
    def __init__(self, c, h, w, code):
        super().__init__()
        widths = [c] + VID_WIDTHS
        for k in range(5):
            setattr(self, f"dwn{k + 1}", VidDown(widths[k], widths[k + 1], VID_STRIDES[k]))
        self.fc1 = nn.Linear(64 * (h // 32) * (w // 32), 512)
        self.fc2 = nn.Linear(512, code)


class VidDecoder(nn.Module):
    def __init__(self, c, h, w, code):
        super().__init__()
        self.fc1 = nn.Linear(code, 512)
        self.fc2 = nn.Linear(512, 64 * (h // 32) * (w // 32))
        widths = [64, 64, 32, 16, 8, 8]
        for k, stride in enumerate(VID_STRIDES[::-1]):
            setattr(self, f"up{k + 1}", VidUp(widths[k], widths[k + 1], stride))
        self.conv = nn.Conv3d(8, c, 1)


class VidLSTMHead(nn.Module):
    """Swift's TemporalLSTMHead: [N,C,T,H,W] averaged over H,W per step, or [N,T,D]; an LSTM
    over the steps (batch first); its last output."""

    def __init__(self, features, hidden):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)

    def forward(self, x):
        if x.dim() == 5:
            x = x.mean(dim=(3, 4)).transpose(1, 2)
        return self.lstm(x)[0][:, -1]


class VidAE(nn.Module):
    def __init__(self, c, h, w, code, hidden):
        super().__init__()
        self.h, self.w = h, w
        self.encoderLayers = VidEncoder(c, h, w, code)
        self.decoderLayers = VidDecoder(c, h, w, code)
        self.heads = nn.ModuleList([VidLSTMHead(f, hidden) for f in VID_WIDTHS + [512, code]])

    def encode(self, x):
        e = self.encoderLayers
        taps, h = [], x
        for k in range(5):
            h = getattr(e, f"dwn{k + 1}")(h)
            taps.append(h)
        n, _, t = h.shape[:3]
        rows = h.permute(0, 2, 1, 3, 4).reshape(n, t, -1)       # per step: the flattened map
        fc1 = torch.tanh(e.fc1(rows))
        return taps + [fc1, torch.sigmoid(e.fc2(fc1))]

    def decode(self, z):
        d = self.decoderLayers
        n, t = z.shape[:2]
        h = F.leaky_relu(d.fc2(torch.tanh(d.fc1(z))), LEAKY_SLOPE)   # [N, T', 64*h*w]
        h = h.reshape(n, t, 64, self.h // 32, self.w // 32).permute(0, 2, 1, 3, 4)
        for k in range(5):
            h = getattr(d, f"up{k + 1}")(h)
        return d.conv(h)


def vid_fill_parameters(model):
    """Parameter i of the sorted state_dict keys (buffers excluded) gets seed 1000 + i:
    BatchNorm weight det_fill(.., 0.2) + 1, BatchNorm bias det_fill(.., 0.1), any other bias
    (LSTM biases included) det_fill(.., 0.1), LSTM weights det_fill(.., 1/sqrt(hidden)), any
    other weight det_fill(.., 1/sqrt(fan_in)) with fan_in = shape[1]*prod(shape[2:]).  A
    BatchNorm is a module whose name starts with 'bn', an LSTM one named 'lstm'."""
    params = dict(model.named_parameters())
    for i, key in enumerate(sorted(params)):
        p = params[key]
        module, kind = key.split(".")[-2:]
        seed = 1000 + i
        if module.startswith("bn"):
            v = t32(p.shape, seed, 0.2) + 1.0 if kind == "weight" else t32(p.shape, seed, 0.1)
        elif kind.startswith("bias"):
            v = t32(p.shape, seed, 0.1)
        elif module == "lstm":
            v = t32(p.shape, seed, 1.0 / np.sqrt(float(p.shape[1] if kind.startswith("weight_hh") else p.shape[0] // 4)))
        else:
            v = t32(p.shape, seed, 1.0 / np.sqrt(float(fan_in(p))))
        set_param(p, v)


VID_C, VID_T, VID_H, VID_W, VID_CODE, VID_HIDDEN, VID_BATCH = 1, 16, 32, 32, 8, 5, 3
VID_SEED_TRIES = 6
VID_GRADS = ["encoderLayers.dwn1.conv1a.weight", "encoderLayers.dwn3.bn1b.weight", "encoderLayers.dwn5.conv2a.weight",
             "encoderLayers.fc1.weight", "encoderLayers.fc2.bias", "decoderLayers.fc2.weight",
             "decoderLayers.up1.bn1a.weight", "decoderLayers.up4.conv1a.weight", "decoderLayers.up5.conv2a.weight", "decoderLayers.up5.bn1b.bias",
             "decoderLayers.conv.weight", "decoderLayers.conv.bias",
             "heads.0.lstm.weight_ih_l0", "heads.4.lstm.weight_hh_l0", "heads.5.lstm.bias_ih_l0",
             "heads.6.lstm.weight_ih_l0"]
VID_STATS = ["encoderLayers.dwn1.bn1a", "encoderLayers.dwn5.bn2a", "decoderLayers.up1.bn1b", "decoderLayers.up5.bn2a"]


def run_video_ae(x_seed, dtype=REF, channels_last=False):
    c, t, h, w, b = VID_C, VID_T, VID_H, VID_W, VID_BATCH
    torch.manual_seed(0)
    model = VidAE(c, h, w, VID_CODE, VID_HIDDEN)
    vid_fill_parameters(model)
    model = model.to(dtype)
    x32 = t32([b, c, t, h, w], x_seed, 0.5) + 0.5
    x = x32.to(dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    x.requires_grad_(True)
    model.train()
    taps = model.encode(x)
    heads = [hd(tp) for hd, tp in zip(model.heads, taps)]
    recon = model.decode(taps[-1])
    loss = torch.mean(torch.sum((recon - x) ** 2, dim=(1, 2, 3, 4)))
    total = loss + sum((hv * t32(hv.shape, 2000 + i, 1.0).to(dtype)).sum() for i, hv in enumerate(heads))
    total.backward()
    out = {"x": x32, "recon": recon, "loss": loss.reshape(1), "grad.x": x.grad}
    for name, tp in zip(VID_TAPS, taps):
        out[f"tap.{name}"] = tp[:1] if name == "c1" else tp
    for name, hv in zip(VID_TAPS, heads):
        out[f"head.{name}"] = hv
    params = dict(model.named_parameters())
    for key in VID_GRADS:
        out[f"grad.{key}"] = params[key].grad
    modules = dict(model.named_modules())
    for name in VID_STATS:
        out[f"{name}.running_mean"] = modules[name].running_mean.clone()
        out[f"{name}.running_var"] = modules[name].running_var.clone()
    model.eval()
    with torch.no_grad():
        taps = model.encode(x)
        out["recon_eval"] = model.decode(taps[-1])
        out["head_eval.c3"] = model.heads[2](taps[2])
        out["head_eval.code"] = model.heads[6](taps[6])
        out["tap_eval.code"] = taps[6]
    meta = {"compute_dtype": str(dtype).replace("torch.", ""), "channels": c, "clip_length": t, "height": h,
            "width": w, "code_length": VID_CODE, "lstm_hidden": VID_HIDDEN, "batch": b,
            "x": f"det_fill([{b},{c},{t},{h},{w}],{x_seed},0.5)+0.5 (float32 add)",
            "weights": vid_fill_parameters.__doc__.replace("\n", " "),
            "total": "loss + sum_i (head_i * det_fill(head_i.shape, 2000+i, 1)).sum(); i in tap order",
            "loss": "mean over batch of per-clip sum of squared error (recon - x)",
            "tap.c1": "first sample only", "mode": "one train forward+backward, then eval",
            "causal": "encoder convolutions pad time with kt-1=2 zero frames before, none after",
            "leaky_relu.negative_slope": LEAKY_SLOPE, "bn.eps": 1e-5, "bn.momentum": 0.1,
            "parameters": ",".join(sorted(params))}
    return {k: v.detach() for k, v in out.items()}, meta


def vid_f32_deviation(seed, out):
    """PyTorch's float32 spread: contiguous and channels_last_3d runs against the float64
    reference, the worse of the two per key, as (max-abs relative, relative L2)."""
    runs = [run_video_ae(seed, dtype=torch.float32, channels_last=cl)[0] for cl in (False, True)]
    result = {}
    for k, v in out.items():
        if k == "x":
            continue
        r = v.to(torch.float64)
        ds = [o[k].to(torch.float64) - r for o in runs]
        result[k] = (max(float(d.abs().max() / r.abs().max().clamp_min(1e-30)) for d in ds),
                     max(float(d.norm() / r.norm().clamp_min(1e-30)) for d in ds))
    return result


def make_video_ae():
    # As mvtec_ae: the gradients are ill-conditioned (BatchNorm over few values behind many
    # LeakyReLUs), so of VID_SEED_TRIES input seeds keep the one where PyTorch's own float32
    # gradients are closest to the float64 reference, and record that spread per key.
    first_seed, best = 120, None
    for seed in range(first_seed, first_seed + VID_SEED_TRIES):
        out, meta = run_video_ae(seed)
        dev = vid_f32_deviation(seed, out)
        spread = max(l2 for k, (_, l2) in dev.items() if k.startswith("grad."))
        print(f"    video_ae: seed {seed}, worst float32 gradient spread {spread:.2e}")
        if best is None or spread < best[0]:
            best = (spread, seed, out, meta, dev)
    spread, seed, out, meta, dev = best
    meta["x.seed"] = seed
    meta["x.seed_choice"] = (f"of seeds {first_seed} ..< {first_seed + VID_SEED_TRIES}, the one with the smallest "
                             f"worst torch_f32_deviation L2 of a gradient")
    meta["torch_f32_deviation"] = ("per key: maxabs(f32-ref)/maxabs(ref) ; norm2(f32-ref)/norm2(ref), the worse "
                                   "of PyTorch CPU float32 contiguous and channels_last_3d vs this float64 reference")
    for k, (mx, l2) in dev.items():
        meta[f"torch_f32_deviation.{k}"] = f"{mx:.3e} ; {l2:.3e}"
    save("video_ae.safetensors", out, meta)
    for k in out:
        if k != "x":
            print(f"    torch f32 deviation {k:44s} {meta['torch_f32_deviation.' + k]}")


# --------------------------------------------------------------------------- MLP autoencoder
# A twin of Sources/MOCCAModels/MLPAutoencoder.swift (`mlp`): attribute names are the Swift
# ones, so state_dict keys are the Swift weight-file keys.
class MlpBlock(nn.Module):
    def __init__(self, i, o, batch_norm):
        super().__init__()
        self.linear = nn.Linear(i, o, bias=not batch_norm)
        self.norm = nn.BatchNorm1d(o, eps=1e-4, affine=False) if batch_norm else None

    def pre(self, x):
        """The LeakyReLU input."""
        h = self.linear(x)
        return self.norm(h) if self.norm is not None else h

    def forward(self, x):
        return F.leaky_relu(self.pre(x), LEAKY_SLOPE)


class MlpEncoder(nn.Module):
    def __init__(self, d, hidden, code, batch_norm):
        super().__init__()
        widths = [d] + hidden
        self.blocks = nn.ModuleList([MlpBlock(i, o, batch_norm) for i, o in zip(widths, widths[1:])])
        self.code = nn.Linear(widths[-1], code, bias=False)


class MlpDecoder(nn.Module):
    def __init__(self, d, hidden, code, batch_norm):
        super().__init__()
        widths = [code] + hidden[::-1]
        self.blocks = nn.ModuleList([MlpBlock(i, o, batch_norm) for i, o in zip(widths, widths[1:])])
        self.output = nn.Linear(widths[-1], d)


class MlpAE(nn.Module):
    def __init__(self, d, hidden, code, batch_norm):
        super().__init__()
        self.encoderLayers = MlpEncoder(d, hidden, code, batch_norm)
        self.decoderLayers = MlpDecoder(d, hidden, code, batch_norm)

    def encode(self, x, pre=None):
        taps, h = [], x
        for b in self.encoderLayers.blocks:
            p = b.pre(h)
            if pre is not None:
                pre.append(p)
            h = F.leaky_relu(p, LEAKY_SLOPE)
            taps.append(h)
        taps.append(self.encoderLayers.code(h))
        return taps

    def decode(self, z, pre=None):
        h = z
        for b in self.decoderLayers.blocks:
            p = b.pre(h)
            if pre is not None:
                pre.append(p)
            h = F.leaky_relu(p, LEAKY_SLOPE)
        return self.decoderLayers.output(h)


MLP_D, MLP_HIDDEN, MLP_CODE, MLP_BATCH = 7, [6, 5], 3, 5
MLP_MARGIN = 1e-3        # required |LeakyReLU input| in the float64 train and eval passes
MLP_FIRST_SEED = 300     # x seeds tried: MLP_FIRST_SEED ..< MLP_FIRST_SEED + MLP_SEED_TRIES
MLP_SEED_TRIES = 1000


def mlp_fill_parameters(model):
    """Parameter i of the sorted state_dict keys (buffers excluded) gets seed 1100 + i:
    a bias det_fill(.., 0.1), a weight det_fill(.., 1/sqrt(fan_in)), fan_in = shape[1]."""
    params = dict(model.named_parameters())
    for i, key in enumerate(sorted(params)):
        p = params[key]
        seed = 1100 + i
        v = t32(p.shape, seed, 0.1) if key.endswith("bias") else t32(p.shape, seed, 1.0 / np.sqrt(float(fan_in(p))))
        set_param(p, v)


def run_mlp_ae(batch_norm, x32, dtype=REF):
    """One train-mode forward + backward, then one eval-mode forward + backward (running
    statistics from the train pass), of the MLP AE in `dtype`; returns (tensors, smallest
    |LeakyReLU input| over both passes, sorted parameter keys)."""
    torch.manual_seed(0)
    model = MlpAE(MLP_D, MLP_HIDDEN, MLP_CODE, batch_norm)
    mlp_fill_parameters(model)
    model = model.to(dtype)
    params = dict(model.named_parameters())
    out, pre = {"x": x32}, []

    def step(prefix):
        for p in params.values():
            p.grad = None
        x = x32.to(dtype).clone().requires_grad_(True)
        taps = model.encode(x, pre)
        recon = model.decode(taps[-1], pre)
        loss = torch.mean(torch.sum((recon - x) ** 2, dim=1))
        total = loss + sum((t * t32(t.shape, 2000 + i, 1.0).to(dtype)).sum() for i, t in enumerate(taps))
        total.backward()
        names = [f"hidden{i + 1}" for i in range(len(MLP_HIDDEN))] + ["code"]
        for name, t in zip(names, taps):
            out[f"{prefix}tap.{name}"] = t
        out[f"{prefix}recon"], out[f"{prefix}loss"], out[f"{prefix}grad.x"] = recon, loss.reshape(1), x.grad
        for key, p in params.items():
            out[f"{prefix}grad.{key}"] = p.grad

    model.train()
    step("")
    if batch_norm:
        for name, m in model.named_modules():
            if isinstance(m, nn.BatchNorm1d):
                out[f"{name}.running_mean"] = m.running_mean.clone()
                out[f"{name}.running_var"] = m.running_var.clone()
    model.eval()
    step("eval.")
    margin = min(float(p.detach().abs().min()) for p in pre)
    return {k: v.detach() for k, v in out.items()}, margin, sorted(params)


def make_mlp_ae():
    # x = det_fill([5,7], seed, 1) with, of MLP_SEED_TRIES seeds from MLP_FIRST_SEED, the one
    # whose smallest |LeakyReLU input| (train and eval passes, float64) is largest, for each
    # variant: no plain seed keeps all 220 of them >= 1e-2 from the kink (BatchNorm over 5
    # rows puts some near zero), but the best is well above float32 rounding (~1e-7), so no
    # branch can flip and every value and gradient is smooth in the rounding.
    for bn, name in ((False, "mlp_ae"), (True, "mlp_ae_bn")):
        margin, seed = max((run_mlp_ae(bn, t32([MLP_BATCH, MLP_D], s, 1.0))[1], -s)
                           for s in range(MLP_FIRST_SEED, MLP_FIRST_SEED + MLP_SEED_TRIES))
        seed = -seed
        assert margin >= MLP_MARGIN, f"{name}: best kink margin {margin:.2e} < {MLP_MARGIN:g}"
        x32 = t32([MLP_BATCH, MLP_D], seed, 1.0)
        out, margin, keys = run_mlp_ae(bn, x32)
        out32, _, _ = run_mlp_ae(bn, x32, dtype=torch.float32)
        meta = {"compute_dtype": "float64", "input_features": MLP_D, "hidden_sizes": json.dumps(MLP_HIDDEN),
                "code_length": MLP_CODE, "batch": MLP_BATCH, "batch_norm": str(bn).lower(),
                "x": f"det_fill([{MLP_BATCH},{MLP_D}],x.seed,1.0); x.seed: of {MLP_FIRST_SEED} ..< "
                     f"{MLP_FIRST_SEED + MLP_SEED_TRIES}, the one whose smallest |LeakyReLU input| (train and "
                     f"eval passes, float64) is largest (margin.kink; required >= {MLP_MARGIN:g})",
                "x.seed": seed, "margin.kink": f"{margin:.3e}", "margin.required": f"{MLP_MARGIN:g}",
                "weights": mlp_fill_parameters.__doc__.replace("\n", " "),
                "parameters": ",".join(keys),
                "loss": "mean over batch of per-sample sum of squared error (recon - x)",
                "total": "loss + sum_i (tap_i * det_fill(tap_i.shape, 2000+i, 1)).sum(); taps hidden1, hidden2, code; "
                         "grad.* are d total / d (x, parameter)",
                "mode": "one train forward+backward (keys without prefix), then eval forward+backward with the "
                        "running statistics it left (keys 'eval.')",
                "leaky_relu.negative_slope": LEAKY_SLOPE, "bn.eps": 1e-4, "bn.momentum": 0.1, "bn.affine": "false",
                "torch_f32_deviation": "per key: maxabs(f32-ref)/maxabs(ref) ; norm2(f32-ref)/norm2(ref), "
                                       "PyTorch CPU float32 vs this float64 reference"}
        for k, v in out.items():
            if k == "x":
                continue
            r = v.to(torch.float64)
            d = out32[k].to(torch.float64) - r
            meta[f"torch_f32_deviation.{k}"] = (f"{float(d.abs().max() / r.abs().max().clamp_min(1e-30)):.3e} ; "
                                                f"{float(d.norm() / r.norm().clamp_min(1e-30)):.3e}")
        save(f"{name}.safetensors", out, meta)
        worst = max(float(meta[f"torch_f32_deviation.{k}"].split(";")[0]) for k in out if k != "x")
        print(f"    {name}: kink margin {margin:.3e}, worst torch float32 max-abs deviation {worst:.2e}")


# --------------------------------------------------------------------------- optimizers
def make_optim():
    p0 = t32([10], 50, 1.0)
    gs = [t32([10], 50 + t, 1.0) for t in range(1, 6)]
    out = {"p0": p0}
    for t, g in enumerate(gs, 1):
        out[f"g{t}"] = g
    configs = {
        "adam": lambda p: (torch.optim.Adam([p], lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
                                            weight_decay=0.1, foreach=False), None),
        "adamw": lambda p: (torch.optim.AdamW([p], lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
                                              weight_decay=0.1, foreach=False), None),
        "sgd": lambda p: (torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01,
                                          foreach=False), None),
        "sgd_plain": lambda p: (torch.optim.SGD([p], lr=0.1, foreach=False), None),
        "adam_multistep": lambda p: _adam_ms(p),
    }
    meta = {
        "p0": "det_fill([10],50,1.0)", "g_t": "det_fill([10],50+t,1.0), t=1..5 (fixed, not param dependent)",
        "compute_dtype": "float32 (PyTorch single-tensor optimizer path, foreach=False)",
        "adam": "Adam(lr=1e-2, betas=(0.9,0.999), eps=1e-8, weight_decay=0.1) (L2 added to grad)",
        "adamw": "AdamW(lr=1e-2, betas=(0.9,0.999), eps=1e-8, weight_decay=0.1) (decoupled)",
        "sgd": "SGD(lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0, nesterov=False)",
        "sgd_plain": "SGD(lr=0.1)",
        "adam_multistep": "Adam(lr=1e-2, weight_decay=0) + MultiStepLR(milestones=[2,4], gamma=0.1) "
                          "stepped after every optimizer step",
    }
    for name, make in configs.items():
        p = p0.clone().requires_grad_(True)
        opt, sched = make(p)
        lrs = []
        for t, g in enumerate(gs, 1):
            lrs.append(opt.param_groups[0]["lr"])
            p.grad = g.clone()
            opt.step()
            if sched is not None:
                sched.step()
            out[f"{name}.step{t}"] = p.detach().clone()
        meta[f"{name}.lr_per_step"] = json.dumps(lrs)
    save("optim.safetensors", out, meta)


def _adam_ms(p):
    opt = torch.optim.Adam([p], lr=1e-2, weight_decay=0, foreach=False)
    return opt, torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)


# --------------------------------------------------------------------------- interop
def make_interop():
    tensors = {"a": t32([2, 3], 60, 1.0), "b.weight": t32([4], 61, 1.0),
               "c": t32([1, 2, 2, 1], 62, 1.0)}
    path = os.path.join(OUT, "safetensors_interop.safetensors")
    save_file(tensors, path, metadata={"format": "pt", "note": "interop"})
    canonicalize_metadata(path)  # "format","note" (the library itself emits either order)
    os.chmod(path, 0o644)
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = data[8:8 + hlen]
    with open(os.path.join(OUT, "safetensors_interop.header.txt"), "wb") as f:
        f.write(header)
    print(f"safetensors_interop.safetensors     {len(data):9d} bytes; header length {hlen}"
          f" (total prefix 8+{hlen}={8 + hlen}, mod 8 = {(8 + hlen) % 8})")
    print("header JSON (between the bars, trailing spaces included):")
    print("|" + header.decode("utf-8") + "|")
    print("header bytes:", header)


def make_lstm():
    """One-layer LSTM, batch first: x [3, 5, 4] -> every output [3, 5, 6].

    Weights and biases det_fill(shape, 1400 + i, 0.4) in PyTorch's parameter order
    (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0); x = det_fill(seed 1410);
    gy = det_fill(y.shape, 1411). Computed in float64 from the float32 values.
    """
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 6, num_layers=1, batch_first=True).to(REF)
    params = {}
    for i, (name, p) in enumerate(lstm.named_parameters()):
        value = t32(p.shape, 1400 + i, 0.4)
        with torch.no_grad():
            p.copy_(value.to(REF))
        params[name] = value
    x32 = t32([3, 5, 4], 1410)
    x = ref(x32, grad=True)
    y, _ = lstm(x)
    gy32 = t32(y.shape, 1411)
    (y * gy32.to(REF)).sum().backward()
    tensors = {"x": x32, "y": y, "gy": gy32, "gx": x.grad}
    for name, p in lstm.named_parameters():
        tensors[name] = params[name]
        tensors["g" + name] = p.grad
    save("lstm.safetensors", tensors, {"layer": "LSTM(4, 6, batch_first=True)", "compute_dtype": "float64"})


FIXTURES = {
    "convs": make_convs, "bns": make_bns, "activations": make_activations,
    "pooling": make_pooling, "losses": make_losses, "cifar_ae": make_cifar_ae,
    "mvtec_ae": make_mvtec_ae, "mlp": make_mlp_ae, "residual_ops": make_residual_ops,
    "conv3d": make_conv3d, "lstm": make_lstm, "video_ae": make_video_ae,
    "optim": make_optim, "interop": make_interop,
}


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description="Generate the PyTorch golden fixtures.")
    parser.add_argument("--only", action="append", choices=list(FIXTURES), metavar="NAME",
                        help="generate only this group (repeatable; default: all of "
                             + ", ".join(FIXTURES) + ")")
    args = parser.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    v = det_fill([5], 1, 1.0)
    print("det_fill([5], seed=1, scale=1) =", [repr(float(a)) for a in v])
    for name, make in FIXTURES.items():
        if args.only is None or name in args.only:
            make()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"total {total} bytes in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
