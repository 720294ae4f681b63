// The non-convolution kernels as plain loops on the shared OpenMP pool: they are memory-bound, and
// tfjs's exact semantics (the max-pool tie rule, double-precision sums) matter more than oneDNN here.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace devise {

void max_pool_grad(const PoolDims& d, const float* x, const float* y, const float* dy, float* dx) {
  // Tasks are (image, channel block): windows overlap in space, never across channels, so no two
  // threads write the same dx cell. Per output pixel, the window is scanned backwards with the channels
  // innermost (contiguous in NHWC), keeping each channel's last match: the first in row-major order.
  const int64_t block = std::min<int64_t>(d.c, 64);
  const int64_t blocks = (d.c + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < d.n * blocks; task++) {
    const int64_t b = task / blocks, c0 = (task % blocks) * block, width = std::min(d.c, c0 + block) - c0;
    int32_t first[64];  // window cell (r·w + q relative to the window's origin) of each channel's first maximum
    for (int64_t p = 0; p < d.h * d.w; p++) std::fill(dx + (b * d.h * d.w + p) * d.c + c0, dx + (b * d.h * d.w + p) * d.c + c0 + width, 0.f);
    for (int64_t i = 0; i < d.oh; i++) {
      const int64_t r0 = std::max<int64_t>(0, i * d.sh - d.pt), r1 = std::min(d.h, i * d.sh - d.pt + d.fh);
      for (int64_t j = 0; j < d.ow; j++) {
        const int64_t q0 = std::max<int64_t>(0, j * d.sw - d.pl), q1 = std::min(d.w, j * d.sw - d.pl + d.fw);
        const int64_t o = ((b * d.oh + i) * d.ow + j) * d.c + c0;
        std::fill(first, first + width, -1);
        const int64_t origin = ((b * d.h + r0) * d.w + q0) * d.c + c0;
        for (int64_t r = r1 - 1; r >= r0; r--) {
          for (int64_t q = q1 - 1; q >= q0; q--) {
            const int32_t cell = static_cast<int32_t>((r - r0) * d.w + (q - q0));
            const float* xc = x + origin + cell * d.c;
            const float* yo = y + o;
#pragma omp simd
            for (int64_t ch = 0; ch < width; ch++) first[ch] = xc[ch] == yo[ch] ? cell : first[ch];
          }
        }
        for (int64_t ch = 0; ch < width; ch++) {
          if (first[ch] >= 0) dx[origin + first[ch] * d.c + ch] += dy[o + ch];
        }
      }
    }
  }
}

void column_sum(const float* x, int64_t outer, int64_t inner, double scale, float* out) {
  const int threads = omp_get_max_threads();
  if (inner >= 256 * threads || outer < 4 * threads) {
    // Wide rows: each thread owns a range of columns.
#pragma omp parallel
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t j0 = inner * t / nt, j1 = inner * (t + 1) / nt;
      std::vector<double> acc(j1 - j0, 0.0);
      for (int64_t i = 0; i < outer; i++) {
        const float* row = x + i * inner;
        for (int64_t j = j0; j < j1; j++) acc[j - j0] += row[j];
      }
      for (int64_t j = j0; j < j1; j++) out[j] = static_cast<float>(acc[j - j0] * scale);
    }
    return;
  }
  // Narrow rows (e.g. 64 channels over N·H·W pixels): each thread sums a range of rows, then the
  // partial sums are added in thread order (deterministic for a given thread count).
  // Reused across calls (no allocation once grown); kernels are only called from the JS thread.
  static std::vector<double> partial;
  partial.assign(static_cast<size_t>(threads) * inner, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t i0 = outer * t / nt, i1 = outer * (t + 1) / nt;
    double* acc = partial.data() + t * inner;
    for (int64_t i = i0; i < i1; i++) {
      const float* row = x + i * inner;
      for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
    }
  }
  for (int64_t j = 0; j < inner; j++) {
    double s = 0;
    for (int t = 0; t < threads; t++) s += partial[t * inner + j];
    out[j] = static_cast<float>(s * scale);
  }
}

void shift_copy(const float* src, const int64_t* ss, float* dst, const int64_t* ds, const int64_t* off, float fill) {
  // Columns (innermost dim) of a dst row that read from src: [c0, c1).
  const int64_t c0 = std::clamp<int64_t>(off[3], 0, ds[3]), c1 = std::clamp<int64_t>(ss[3] + off[3], c0, ds[3]);
#pragma omp parallel for schedule(static) collapse(2) if (ds[0] * ds[1] * ds[2] * ds[3] > 32768)
  for (int64_t a = 0; a < ds[0]; a++) {
    for (int64_t b = 0; b < ds[1]; b++) {
      for (int64_t c = 0; c < ds[2]; c++) {
        float* row = dst + ((a * ds[1] + b) * ds[2] + c) * ds[3];
        const int64_t sa = a - off[0], sb = b - off[1], sc = c - off[2];
        if (sa < 0 || sa >= ss[0] || sb < 0 || sb >= ss[1] || sc < 0 || sc >= ss[2]) {
          std::fill(row, row + ds[3], fill);
          continue;
        }
        const float* from = src + ((sa * ss[1] + sb) * ss[2] + sc) * ss[3] - off[3];
        std::fill(row, row + c0, fill);
        std::copy(from + c0, from + c1, row + c0);
        std::fill(row + c1, row + ds[3], fill);
      }
    }
  }
}

namespace {

// Per-channel sums s1[j] = Σ_i f1(i, j) and s2[j] = Σ_i f2(i, j) over `rows` pixels, in double: each
// thread sums a range of rows, then the partial sums are added in thread order (deterministic for a
// given thread count). `terms(i, j, a, b)` adds row i, channel j's two terms to a and b.
template <typename Terms>
void channel_sums(int64_t rows, int64_t c, Terms terms, std::vector<double>& s1, std::vector<double>& s2) {
  const int threads = omp_get_max_threads();
  static std::vector<double> partial;  // reused across calls, as in column_sum
  partial.assign(static_cast<size_t>(threads) * 2 * c, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    double* a = partial.data() + t * 2 * c;
    double* b = a + c;
    for (int64_t i = rows * t / nt; i < rows * (t + 1) / nt; i++) {
      for (int64_t j = 0; j < c; j++) terms(i, j, a[j], b[j]);
    }
  }
  s1.assign(c, 0.0);
  s2.assign(c, 0.0);
  for (int t = 0; t < threads; t++) {
    for (int64_t j = 0; j < c; j++) {
      s1[j] += partial[t * 2 * c + j];
      s2[j] += partial[t * 2 * c + c + j];
    }
  }
}

// s1 = Σdy and s2 = Σdy·(x − mean) per channel: the sums both batch-norm gradients need.
void channel_grad_sums(const float* x, const float* mean, const float* dy, int64_t rows, int64_t c, std::vector<double>& s1, std::vector<double>& s2) {
  channel_sums(rows, c, [&](int64_t i, int64_t j, double& a, double& b) {
    const float g = dy[i * c + j];
    a += g;
    b += static_cast<double>(g) * (x[i * c + j] - mean[j]);
  }, s1, s2);
}

}  // namespace

void batch_norm_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float eps,
                     int64_t rows, int64_t c, float* dx, float* dmean, float* dvar, float* dscale, float* doffset) {
  static std::vector<double> s1, s2;
  static std::vector<float> k;  // dx = dy · k per channel
  channel_grad_sums(x, mean, dy, rows, c, s1, s2);
  k.resize(c);
  for (int64_t j = 0; j < c; j++) {
    const double r = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps), g = scale ? scale[j] : 1.0;
    dmean[j] = static_cast<float>(-r * g * s1[j]);
    dvar[j] = static_cast<float>(-0.5 * r * r * r * g * s2[j]);
    dscale[j] = static_cast<float>(r * s2[j]);
    doffset[j] = static_cast<float>(s1[j]);
    k[j] = static_cast<float>(r * g);
  }
  const float* kd = k.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; i++) {
    const float* gr = dy + i * c;
    float* out = dx + i * c;
    for (int64_t j = 0; j < c; j++) out[j] = gr[j] * kd[j];
  }
}

void batch_norm_train_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float eps,
                           int64_t rows, int64_t c, float* dx, float* dscale, float* doffset) {
  static std::vector<double> s1, s2;
  static std::vector<float> k, a, b;  // dx = k · (dy − a − (x − mean) · b) per channel
  channel_grad_sums(x, mean, dy, rows, c, s1, s2);
  k.resize(c);
  a.resize(c);
  b.resize(c);
  for (int64_t j = 0; j < c; j++) {
    const double r = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps), g = scale ? scale[j] : 1.0;
    dscale[j] = static_cast<float>(r * s2[j]);
    doffset[j] = static_cast<float>(s1[j]);
    k[j] = static_cast<float>(r * g);
    a[j] = static_cast<float>(s1[j] / rows);
    b[j] = static_cast<float>(r * r * s2[j] / rows);
  }
  const float *kd = k.data(), *ad = a.data(), *bd = b.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; i++) {
    const float* xr = x + i * c;
    const float* gr = dy + i * c;
    float* out = dx + i * c;
    for (int64_t j = 0; j < c; j++) out[j] = kd[j] * (gr[j] - ad[j] - (xr[j] - mean[j]) * bd[j]);
  }
}

void batch_norm_stats(const float* x, int64_t rows, int64_t c, float* mean, float* var) {
  static std::vector<double> s1, s2;
  channel_sums(rows, c, [&](int64_t i, int64_t j, double& a, double& b) {
    const double v = x[i * c + j];
    a += v;
    b += v * v;
  }, s1, s2);
  for (int64_t j = 0; j < c; j++) {
    const double m = s1[j] / rows;
    mean[j] = static_cast<float>(m);
    var[j] = static_cast<float>(std::max(0.0, s2[j] / rows - m * m));
  }
}

void relu_grad(const float* dy, const float* x, int64_t n, float* dx) {
  // A select of loaded values (PyTorch's threshold_backward) vectorizes; dy · step(x) compiled to a branch.
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; i++) {
    const float g = dy[i], v = x[i];
    dx[i] = v > 0.f ? g : 0.f;
  }
}

void batch_norm(const float* x, const float* mean, const float* var, const float* scale, const float* offset, float eps,
                int64_t rows, int64_t c, float* y) {
  static std::vector<float> k, b;  // y = x · k + b per channel
  k.resize(c);
  b.resize(c);
  for (int64_t j = 0; j < c; j++) {
    const double r = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps) * (scale ? scale[j] : 1.0);
    k[j] = static_cast<float>(r);
    b[j] = static_cast<float>((offset ? offset[j] : 0.0) - mean[j] * r);
  }
  const float* kk = k.data();
  const float* bb = b.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; i++) {
    const float* xr = x + i * c;
    float* yr = y + i * c;
    for (int64_t j = 0; j < c; j++) yr[j] = xr[j] * kk[j] + bb[j];
  }
}

void copy_blocks(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t len, int64_t count) {
#pragma omp parallel for schedule(static) if (len * count > 32768)
  for (int64_t i = 0; i < count; i++) std::copy(src + i * src_stride, src + i * src_stride + len, dst + i * dst_stride);
}

void set_threads(int n) { omp_set_num_threads(std::max(1, n)); }

int threads() { return omp_get_max_threads(); }

}  // namespace devise
