// The CPU's attainable fp32 rate, measured the way the model kernels run: oneDNN's sgemm on square matrices
// and oneDNN's convolution (conv_forward, the kernel the training step uses) on a ResNet-sized 3×3 layer.
// `bench -- peak` reports the better of the two per thread count; every achieved GFLOP/s is read against it.
#include <algorithm>
#include <chrono>
#include <vector>

#include "dnnl.h"
#include "kernels.h"

namespace devise {

namespace {

// Repeats `run` (one call = `flops` floating-point operations) for at least `seconds`; best rate in GFLOP/s.
template <typename F>
double best_rate(F run, double flops, double seconds) {
  using clock = std::chrono::steady_clock;
  run();  // warm-up: JIT, primitive creation, page faults
  double best = 0;
  const auto start = clock::now();
  do {
    const auto t0 = clock::now();
    run();
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    best = std::max(best, flops / s / 1e9);
  } while (std::chrono::duration<double>(clock::now() - start).count() < seconds);
  return best;
}

}  // namespace

double peak_sgemm_gflops(int64_t n, double seconds) {
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.f);
  return best_rate([&] { dnnl_sgemm('N', 'N', n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n); }, 2.0 * n * n * n, seconds);
}

double peak_conv_gflops(double seconds) {
  // ResNet34's conv2_x layer at batch 4: 56×56×64 → 64, 3×3, stride 1, padding 1 (NHWC, as tfjs hands it over).
  const ConvDims d{4, 56, 56, 64, 64, 3, 3, 56, 56, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<float> x(d.n * d.h * d.w * d.ci, 0.5f), w(d.kh * d.kw * d.ci * d.co, 0.01f), y(d.n * d.oh * d.ow * d.co);
  const double flops = 2.0 * d.n * d.oh * d.ow * d.co * d.kh * d.kw * d.ci;
  // The direct convolution: the roofline is the rate of the FLOPs counted. Winograd does fewer multiplications for
  // the same output, so a run on it can exceed this rate in counted FLOPs.
  const bool winograd_was = winograd();
  set_winograd(false);
  const double rate = best_rate([&] { conv_forward(d, x.data(), w.data(), nullptr, y.data(), false); }, flops, seconds);
  set_winograd(winograd_was);
  return rate;
}

}  // namespace devise
