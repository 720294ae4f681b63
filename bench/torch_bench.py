"""PyTorch side of bench/train.ts and bench/infer.ts (Debian /usr/bin/python3 with torch 1.13, or the project
venv's .venv/bin/python with a pip torch 2.x; each with torchvision).

    python3 bench/torch_bench.py train squeezenet1_1 16 224 1 5   # mode arch batch size threads steps

Times NCHW and channels-last (the layout a user would pick for CPU speed) and prints one JSON line with the
better one: {"imgPerSec", "stepMs", "cpuMs", "layout", "layouts": {layout: imgPerSec}, "version"}: median step
(and process CPU) time after 2 warm-up steps, random init, SGD + cross-entropy on 1000 classes, the same shapes
the tfjs bench uses. Without an importable torchvision (pip's is a CUDA build that fails beside a +cpu torch) the two
architectures are this file's layer-for-layer copies (checked against torchvision by test/bench/peak.test.ts).
"""
import json
import sys
import time

import torch
from torch import nn

try:
    import torchvision
except (ImportError, RuntimeError):  # pip's torchvision is a CUDA build whose C ops fail to load beside a +cpu torch
    torchvision = None


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze, self.squeeze_activation = nn.Conv2d(cin, squeeze, 1), nn.ReLU(inplace=True)
        self.expand1x1, self.expand1x1_activation = nn.Conv2d(squeeze, e1, 1), nn.ReLU(inplace=True)
        self.expand3x3, self.expand3x3_activation = nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1)


def squeezenet1_1(num_classes: int) -> nn.Module:
    """torchvision's squeezenet1_1, layer for layer (used when torchvision cannot be imported)."""
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    features = nn.Sequential(nn.Conv2d(3, 64, 3, 2), nn.ReLU(inplace=True), pool(), Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                             Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                             Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
    classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(512, num_classes, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return nn.Sequential(features, classifier)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


def resnet34(num_classes: int) -> nn.Module:
    """torchvision's resnet34, layer for layer (used when torchvision cannot be imported)."""
    layers, cin = [], 64
    for cout, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(BasicBlock(cin, cout, stride if i == 0 else 1))
            cin = cout
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1), *layers,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))


def build(arch: str) -> nn.Module:
    if torchvision is not None:
        return getattr(torchvision.models, arch)(num_classes=1000)
    return {"squeezenet1_1": squeezenet1_1, "resnet34": resnet34}[arch](1000)


def time_layout(mode: str, arch: str, batch: int, size: int, steps: int, layout: torch.memory_format) -> dict:
    torch.manual_seed(0)
    model = build(arch).to(memory_format=layout)
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=layout)
    y = torch.randint(0, 1000, (batch,))
    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step() -> None:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    else:
        model.eval()

        def step() -> None:
            with torch.no_grad():
                model(x)

    for _ in range(2):
        step()
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    step_ms = sorted(times)[len(times) // 2] * 1000
    cpu_ms = sorted(cpu)[len(cpu) // 2] * 1000
    return {"imgPerSec": batch / step_ms * 1000, "stepMs": step_ms, "cpuMs": cpu_ms}


def main() -> None:
    mode, arch, batch, size, threads, steps = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
    torch.set_num_threads(threads)
    if int(torch.__version__.split(".")[0]) >= 2:
        # pip's torch 2.x cannot use NNPACK on this CPU anyway and warns so at every convolution; 1.13 is left as it is.
        torch.backends.nnpack.set_flags(False)
    runs = {name: time_layout(mode, arch, batch, size, steps, fmt)
            for name, fmt in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))}
    best = max(runs, key=lambda name: runs[name]["imgPerSec"])
    print(json.dumps({**runs[best], "layout": best, "layouts": {k: v["imgPerSec"] for k, v in runs.items()}, "version": torch.__version__,
                      "models": "torchvision" if torchvision is not None else "torch_bench.py"}))


if __name__ == "__main__":
    main()
