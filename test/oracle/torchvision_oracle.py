"""Oracle for test/models: torchvision squeezenet1_1 and resnet34 with random weights.

Usage: /usr/bin/python3 test/oracle/torchvision_oracle.py OUT_DIR [--reader-only]

Writes into OUT_DIR: state dicts in both serialisations (<arch>.pth zip, <arch>-legacy.pth),
inputs and outputs as raw little-endian float32 (NHWC for images/feature maps), manifest.json with
their shapes, a train-mode step of resnet34 (its state dict after one batch + train-mode logits),
and bad files (a shape-altered squeezenet state dict, a pickled nn.Module, unusual dtypes/views).
"""
import json
import os
import sys

import torch
import torchvision

out = sys.argv[1]
reader_only = "--reader-only" in sys.argv  # just the files test/weights needs
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
manifest = {}


def put(name, t):
    t = t.detach().float().contiguous()
    if t.dim() == 4:  # NCHW -> NHWC, the layout our models use
        t = t.permute(0, 2, 3, 1).contiguous()
    t.numpy().astype("<f4").tofile(os.path.join(out, name + ".f32"))
    manifest[name] = list(t.shape)


def save_both(model, name):
    sd = model.state_dict()
    torch.save(sd, os.path.join(out, name + ".pth"))
    torch.save(sd, os.path.join(out, name + "-legacy.pth"), _use_new_zipfile_serialization=False)


def randomise_bn(model):
    # Fresh BatchNorms are the identity in eval mode; random statistics make the test meaningful.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


with torch.no_grad():
    if not reader_only:
        sq = torchvision.models.squeezenet1_1().eval()
        for p in sq.parameters():  # torchvision's final-conv init (std 0.01) makes tiny logits; widen them
            p.data.normal_(0, 0.1) if p.dim() == 1 else None
        save_both(sq, "squeezenet1_1")
        # 70 px exercises ceil-mode pooling (34 -> 17 and 8 -> 4 windows differ from floor mode).
        for size, batch in ((70, 2), (224, 1)):
            x = torch.randn(batch, 3, size, size)
            put(f"sq{size}_x", x)
            put(f"sq{size}_logits", sq(x))
            put(f"sq{size}_features", sq.features(x))

        rn = torchvision.models.resnet34()
        randomise_bn(rn)
        rn.eval()
        save_both(rn, "resnet34")
        x = torch.randn(2, 3, 80, 80)
        put("rn_x", x)
        put("rn_logits", rn(x))
        body = torch.nn.Sequential(*list(rn.children())[:-2])
        put("rn_features", body(x))
        x67 = torch.randn(1, 3, 67, 67)  # odd sizes: symmetric padding must still floor like torch
        put("rn67_x", x67)
        put("rn67_logits", rn(x67))

        # One train-mode forward: batch statistics normalise, running stats move (momentum 0.1, unbiased var).
        rn.train()
        put("rn_train_logits", rn(x))
        torch.save(rn.state_dict(), os.path.join(out, "resnet34-after-train.pth"))

        # A state dict with one mis-shaped tensor.
        bad = sq.state_dict()
        bad["features.3.squeeze.weight"] = torch.zeros(8, 64, 1, 1)
        torch.save(bad, os.path.join(out, "squeezenet1_1-badshape.pth"))

    # A whole pickled module instead of a state dict.
    torch.save(torch.nn.Linear(2, 2), os.path.join(out, "module.pth"))

    # Unusual tensors for the reader: dtypes, a transposed view, a slice with an offset, shared storage.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    odd = {
        "f64": torch.linspace(-1, 1, 5, dtype=torch.float64),
        "f16": torch.tensor([0.5, -2.0, 65504.0, 6.1e-5], dtype=torch.float16),
        "i64": torch.tensor([-3, 0, 2**40], dtype=torch.int64),
        "u8": torch.tensor([0, 7, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "transposed": base.t(),
        "slice": base[1:3, 2:5],
        "shared": base,
        "scalar": torch.tensor(3.25),
    }
    for suffix, kw in (("", {}), ("-legacy", {"_use_new_zipfile_serialization": False})):
        torch.save(odd, os.path.join(out, f"odd{suffix}.pth"), **kw)
    manifest["odd"] = {k: {"shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in odd.items()}

with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f)
