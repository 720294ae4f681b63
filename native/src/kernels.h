// The kernels devise_native.node exposes, independent of N-API: plain pointers into the caller's
// (the tfjs wasm backend's) float32 memory plus shape structs. Layouts are tfjs's: activations NHWC,
// filters HWIO ([kh, kw, in, out]).
#pragma once
#include <cstdint>
#include <string>

namespace devise {

// One 2-D convolution's geometry, as tfjs's computeConv2DInfo reports it (dilation 1 = none).
struct ConvDims {
  int64_t n, h, w, ci, co, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, pb, pr;
};

// One 2-D pooling window geometry (tfjs's computePool2DInfo).
struct PoolDims {
  int64_t n, h, w, c, oh, ow, fh, fw, sh, sw, pt, pl;
};

// y = conv(x, w) (+ bias) (then ReLU when relu); bias may be null.
void conv_forward(const ConvDims& d, const float* x, const float* w, const float* bias, float* y, bool relu);
// dx = the gradient of conv(x, w) with respect to x, given dy.
void conv_backward_data(const ConvDims& d, const float* dy, const float* w, float* dx);
// dw = the gradient of conv(x, w) with respect to w, given dy.
void conv_backward_weights(const ConvDims& d, const float* x, const float* dy, float* dw);

// Max-pool gradient: each window's dy goes to the first cell (row-major) equal to the forward output y,
// the tie rule of tfjs's cpu backend.
void max_pool_grad(const PoolDims& d, const float* x, const float* y, const float* dy, float* dx);
// out[j] = scale * sum_i x[i * inner + j] (Sum/Mean over leading axes), double accumulators.
void column_sum(const float* x, int64_t outer, int64_t inner, double scale, float* out);

// dst[d] = src[d - offset] where that lies inside src, else `fill`; shapes and offsets are 4-D (pad
// leading dims with 1 and 0). Slice is offset = -begin; PadV2 is offset = the leading paddings.
void shift_copy(const float* src, const int64_t* src_shape, float* dst, const int64_t* dst_shape, const int64_t* offset, float fill);

// The gradients of tfjs's FusedBatchNorm y = (x - mean) / sqrt(var + eps) * scale + offset over `rows`
// pixels of `c` channels, with mean and var as inputs (tfjs's own gradient, in two passes instead of ~10):
// dx = dy·scale·r, dmean = −r·scale·Σdy, dvar = −½r³·scale·Σdy(x−mean), dscale = r·Σdy(x−mean),
// doffset = Σdy, where r = 1/sqrt(var + eps); scale may be null (1).
void batch_norm_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float eps,
                     int64_t rows, int64_t c, float* dx, float* dmean, float* dvar, float* dscale, float* doffset);

// Per-channel mean and biased variance of `rows` pixels of `c` channels (training-mode batch norm), from
// double sums of x and x², so one pass reads the activation.
void batch_norm_stats(const float* x, int64_t rows, int64_t c, float* mean, float* var);

// The gradient of training-mode batch norm, y = batch_norm(x, mean(x), var(x)), with the batch statistics
// differentiated too (PyTorch's native_batch_norm_backward): dx = scale·r·(dy − Σdy/N − (x−mean)·r²·Σdy(x−mean)/N),
// dscale = r·Σdy(x−mean), doffset = Σdy. The same two passes as batch_norm_grad.
void batch_norm_train_grad(const float* x, const float* mean, const float* var, const float* scale, const float* dy, float eps,
                           int64_t rows, int64_t c, float* dx, float* dscale, float* doffset);

// Copies `count` blocks of `len` floats from src (block stride src_stride) to dst (dst_stride): the rows of
// a channel concat or split.
void copy_blocks(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t len, int64_t count);

// dx = dy where x > 0, else 0 (the gradient of ReLU in one pass instead of Step, Cast and Multiply).
void relu_grad(const float* dy, const float* x, int64_t n, float* dx);

// y = (x − mean) / sqrt(var + eps) · scale + offset per channel (tfjs's FusedBatchNorm); scale and offset
// may be null (1 and 0).
void batch_norm(const float* x, const float* mean, const float* var, const float* scale, const float* offset, float eps,
                int64_t rows, int64_t c, float* y);

// Threads of the one OpenMP pool that oneDNN and the loops above share.
void set_threads(int n);
int threads();
// Activation memory format of the convolutions: "nhwc" (tfjs's own, no reorders), "any" (oneDNN's
// choice, usually blocked, with reorders in and out) or "auto" (both timed on the first call of each
// shape, the faster kept). Applies to primitives created afterwards.
void set_activation_format(const std::string& format);
std::string activation_format();
// Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions where oneDNN has it (default on; blocked layout, reorders in
// and out); off: direct everywhere. Applies to primitives created afterwards.
void set_winograd(bool on);
bool winograd();
// Best fp32 rate (GFLOP/s) over repeated calls for at least `seconds`, at the current thread count: oneDNN
// sgemm on n×n matrices, and conv_forward on a ResNet-sized 3×3 convolution (the roofline of bench -- peak).
double peak_sgemm_gflops(int64_t n, double seconds);
double peak_conv_gflops(double seconds);
// oneDNN version and the CPU ISA its JIT uses.
std::string dnnl_version();
std::string dnnl_isa();
// Number of cached convolution primitives, how many of them "auto" put on the blocked layout, and how many use Winograd.
size_t cached_primitives();
size_t blocked_primitives();
size_t winograd_primitives();

}  // namespace devise
