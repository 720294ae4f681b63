"""PyTorch side of bench/train.ts and bench/infer.ts (Debian /usr/bin/python3 with torch + torchvision).

    python3 bench/torch_bench.py train squeezenet1_1 16 224 1 5   # mode arch batch size threads steps

Prints one JSON line {"imgPerSec", "stepMs", "cpuMs"}: median step (and process CPU) time after 2 warm-up steps, random init,
SGD + cross-entropy on 1000 classes, the same shapes the tfjs bench uses.
"""
import json
import sys
import time

import torch
import torchvision


def main() -> None:
    mode, arch, batch, size, threads, steps = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=1000)
    x = torch.rand(batch, 3, size, size)
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
    print(json.dumps({"imgPerSec": batch / step_ms * 1000, "stepMs": step_ms, "cpuMs": cpu_ms}))


if __name__ == "__main__":
    main()
