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
  // threads write the same dx cell.
  const int64_t block = std::min<int64_t>(d.c, 64);
  const int64_t blocks = (d.c + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < d.n * blocks; task++) {
    const int64_t b = task / blocks, c0 = (task % blocks) * block, c1 = std::min(d.c, c0 + block);
    for (int64_t p = 0; p < d.h * d.w; p++) std::fill(dx + (b * d.h * d.w + p) * d.c + c0, dx + (b * d.h * d.w + p) * d.c + c1, 0.f);
    for (int64_t i = 0; i < d.oh; i++) {
      const int64_t r0 = std::max<int64_t>(0, i * d.sh - d.pt), r1 = std::min(d.h, i * d.sh - d.pt + d.fh);
      for (int64_t j = 0; j < d.ow; j++) {
        const int64_t q0 = std::max<int64_t>(0, j * d.sw - d.pl), q1 = std::min(d.w, j * d.sw - d.pl + d.fw);
        const int64_t o = ((b * d.oh + i) * d.ow + j) * d.c;
        for (int64_t ch = c0; ch < c1; ch++) {
          const float target = y[o + ch];
          for (int64_t r = r0; r < r1; r++) {
            int64_t q = q0;
            for (; q < q1; q++) {
              const int64_t at = ((b * d.h + r) * d.w + q) * d.c + ch;
              if (x[at] == target) {
                dx[at] += dy[o + ch];
                break;
              }
            }
            if (q < q1) break;
          }
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

void batch_norm_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float eps,
                     int64_t rows, int64_t c, float* dx, float* dmean, float* dvar, float* dscale, float* doffset) {
  const int threads = omp_get_max_threads();
  static std::vector<double> partial;  // reused across calls, as in column_sum
  static std::vector<float> k;         // dx = dy · k per channel
  partial.assign(static_cast<size_t>(threads) * 2 * c, 0.0);
  k.resize(c);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    double* s1 = partial.data() + t * 2 * c;
    double* s2 = s1 + c;
    for (int64_t i = rows * t / nt; i < rows * (t + 1) / nt; i++) {
      const float* xr = x + i * c;
      const float* gr = dy + i * c;
      for (int64_t j = 0; j < c; j++) {
        s1[j] += gr[j];
        s2[j] += static_cast<double>(gr[j]) * (xr[j] - mean[j]);
      }
    }
  }
  for (int64_t j = 0; j < c; j++) {
    double s1 = 0, s2 = 0;
    for (int t = 0; t < threads; t++) {
      s1 += partial[t * 2 * c + j];
      s2 += partial[t * 2 * c + c + j];
    }
    const double r = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps), g = scale ? scale[j] : 1.0;
    dmean[j] = static_cast<float>(-r * g * s1);
    dvar[j] = static_cast<float>(-0.5 * r * r * r * g * s2);
    dscale[j] = static_cast<float>(r * s2);
    doffset[j] = static_cast<float>(s1);
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

void set_threads(int n) { omp_set_num_threads(std::max(1, n)); }

int threads() { return omp_get_max_threads(); }

}  // namespace devise
