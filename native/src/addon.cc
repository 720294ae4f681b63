// N-API surface of devise_native.node. Every kernel takes the wasm heap as a Float32Array plus
// element offsets into it: the heap's pointer is re-derived on every call (wasm memory growth
// replaces the buffer and detaches old views), and each tensor's extent is checked against it.
//
//   const k = require('devise-native');
//   k.conv2d(heap, dims, xAt, wAt, biasAt /* -1: none */, yAt, relu);   // dims: Float64Array(17)
#include <napi.h>

#include "kernels.h"

namespace {

using devise::ConvDims;
using devise::PoolDims;

struct Heap {
  float* base;
  size_t length;

  // A pointer to `count` floats at element `at`, after checking they lie inside the heap.
  float* at(const Napi::Env& env, const Napi::Value& offset, int64_t count) const {
    const int64_t i = offset.As<Napi::Number>().Int64Value();
    if (i < 0 || count < 0 || static_cast<size_t>(i + count) > length) {
      throw Napi::RangeError::New(env, "tensor outside the wasm heap (offset " + std::to_string(i) + ", " + std::to_string(count) + " floats)");
    }
    return base + i;
  }
};

Heap heap_of(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(v.Env(), "expected the wasm heap as a Float32Array");
  }
  auto a = v.As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength()};
}

// Reads `n` numbers from a Float64Array (the caller reuses one, so no per-call JS allocation).
template <typename T>
T dims_of(const Napi::Value& v) {
  constexpr size_t n = sizeof(T) / sizeof(int64_t);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || v.As<Napi::Float64Array>().ElementLength() < n) {
    throw Napi::TypeError::New(v.Env(), "expected the dimensions as a Float64Array(" + std::to_string(n) + ")");
  }
  const double* src = v.As<Napi::Float64Array>().Data();
  int64_t out[n];
  for (size_t i = 0; i < n; i++) out[i] = static_cast<int64_t>(src[i]);
  T d;
  std::copy(out, out + n, reinterpret_cast<int64_t*>(&d));
  return d;
}

// Runs a kernel, turning C++ exceptions (oneDNN's included) into JS errors.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F f) {
  try {
    f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("devise-native: ") + e.what());
  }
  return info.Env().Undefined();
}

// conv2d(heap, dims, x, w, bias | -1, y, relu)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    auto d = dims_of<ConvDims>(info[1]);
    const float* x = h.at(info.Env(), info[2], d.n * d.h * d.w * d.ci);
    const float* w = h.at(info.Env(), info[3], d.kh * d.kw * d.ci * d.co);
    const bool has_bias = info[4].As<Napi::Number>().Int64Value() >= 0;
    const float* bias = has_bias ? h.at(info.Env(), info[4], d.co) : nullptr;
    float* y = h.at(info.Env(), info[5], d.n * d.oh * d.ow * d.co);
    devise::conv_forward(d, x, w, bias, y, info[6].ToBoolean());
  });
}

// conv2dBackpropInput(heap, dims, dy, w, dx)
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    auto d = dims_of<ConvDims>(info[1]);
    devise::conv_backward_data(d, h.at(info.Env(), info[2], d.n * d.oh * d.ow * d.co), h.at(info.Env(), info[3], d.kh * d.kw * d.ci * d.co),
                               h.at(info.Env(), info[4], d.n * d.h * d.w * d.ci));
  });
}

// conv2dBackpropFilter(heap, dims, x, dy, dw)
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    auto d = dims_of<ConvDims>(info[1]);
    devise::conv_backward_weights(d, h.at(info.Env(), info[2], d.n * d.h * d.w * d.ci), h.at(info.Env(), info[3], d.n * d.oh * d.ow * d.co),
                                  h.at(info.Env(), info[4], d.kh * d.kw * d.ci * d.co));
  });
}

// maxPoolGrad(heap, dims, x, y, dy, dx)
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    auto d = dims_of<PoolDims>(info[1]);
    const int64_t in = d.n * d.h * d.w * d.c, out = d.n * d.oh * d.ow * d.c;
    devise::max_pool_grad(d, h.at(info.Env(), info[2], in), h.at(info.Env(), info[3], out), h.at(info.Env(), info[4], out),
                          h.at(info.Env(), info[5], in));
  });
}

// columnSum(heap, x, outer, inner, scale, out)
Napi::Value ColumnSum(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    const int64_t outer = info[2].As<Napi::Number>().Int64Value(), inner = info[3].As<Napi::Number>().Int64Value();
    devise::column_sum(h.at(info.Env(), info[1], outer * inner), outer, inner, info[4].As<Napi::Number>().DoubleValue(),
                       h.at(info.Env(), info[5], inner));
  });
}

// shiftCopy(heap, shapes: Float64Array(12) [src 4, dst 4, offset 4], src, dst, fill)
Napi::Value ShiftCopy(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    struct Shapes { int64_t src[4], dst[4], offset[4]; };
    auto d = dims_of<Shapes>(info[1]);
    const float* src = h.at(info.Env(), info[2], d.src[0] * d.src[1] * d.src[2] * d.src[3]);
    float* dst = h.at(info.Env(), info[3], d.dst[0] * d.dst[1] * d.dst[2] * d.dst[3]);
    devise::shift_copy(src, d.src, dst, d.dst, d.offset, static_cast<float>(info[4].As<Napi::Number>().DoubleValue()));
  });
}

// batchNormGrad(heap, x, mean, variance, scale | -1, dy, eps, rows, channels, dx, dmean, dvar, dscale, doffset)
Napi::Value BatchNormGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    const int64_t rows = info[7].As<Napi::Number>().Int64Value(), c = info[8].As<Napi::Number>().Int64Value();
    const Napi::Env env = info.Env();
    const bool has_scale = info[4].As<Napi::Number>().Int64Value() >= 0;
    devise::batch_norm_grad(h.at(env, info[1], rows * c), h.at(env, info[2], c), h.at(env, info[3], c), has_scale ? h.at(env, info[4], c) : nullptr,
                            h.at(env, info[5], rows * c), static_cast<float>(info[6].As<Napi::Number>().DoubleValue()), rows, c,
                            h.at(env, info[9], rows * c), h.at(env, info[10], c), h.at(env, info[11], c), h.at(env, info[12], c), h.at(env, info[13], c));
  });
}

// batchNorm(heap, x, mean, variance, scale | -1, offset | -1, eps, rows, channels, y)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    const int64_t rows = info[7].As<Napi::Number>().Int64Value(), c = info[8].As<Napi::Number>().Int64Value();
    const Napi::Env env = info.Env();
    const auto optional = [&](int i) { return info[i].As<Napi::Number>().Int64Value() >= 0 ? h.at(env, info[i], c) : nullptr; };
    devise::batch_norm(h.at(env, info[1], rows * c), h.at(env, info[2], c), h.at(env, info[3], c), optional(4), optional(5),
                       static_cast<float>(info[6].As<Napi::Number>().DoubleValue()), rows, c, h.at(env, info[9], rows * c));
  });
}

// batchNormStats(heap, x, rows, channels, mean, var)
Napi::Value BatchNormStats(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    const int64_t rows = info[2].As<Napi::Number>().Int64Value(), c = info[3].As<Napi::Number>().Int64Value();
    const Napi::Env env = info.Env();
    devise::batch_norm_stats(h.at(env, info[1], rows * c), rows, c, h.at(env, info[4], c), h.at(env, info[5], c));
  });
}

// batchNormTrainGrad(heap, x, mean, variance, scale | -1, dy, eps, rows, channels, dx, dscale, doffset)
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    const int64_t rows = info[7].As<Napi::Number>().Int64Value(), c = info[8].As<Napi::Number>().Int64Value();
    const Napi::Env env = info.Env();
    const bool has_scale = info[4].As<Napi::Number>().Int64Value() >= 0;
    devise::batch_norm_train_grad(h.at(env, info[1], rows * c), h.at(env, info[2], c), h.at(env, info[3], c), has_scale ? h.at(env, info[4], c) : nullptr,
                                  h.at(env, info[5], rows * c), static_cast<float>(info[6].As<Napi::Number>().DoubleValue()), rows, c,
                                  h.at(env, info[9], rows * c), h.at(env, info[10], c), h.at(env, info[11], c));
  });
}

// reluGrad(heap, dy, x, n, dx)
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    const int64_t n = info[3].As<Napi::Number>().Int64Value();
    const Napi::Env env = info.Env();
    devise::relu_grad(h.at(env, info[1], n), h.at(env, info[2], n), n, h.at(env, info[4], n));
  });
}

// copyBlocks(heap, src, srcStride, dst, dstStride, len, count)
Napi::Value CopyBlocks(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Heap h = heap_of(info[0]);
    const Napi::Env env = info.Env();
    const auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
    const int64_t src_stride = num(2), dst_stride = num(4), len = num(5), count = num(6);
    if (count == 0 || len == 0) return;
    const float* src = h.at(env, info[1], (count - 1) * src_stride + len);
    float* dst = h.at(env, info[3], (count - 1) * dst_stride + len);
    devise::copy_blocks(src, src_stride, dst, dst_stride, len, count);
  });
}

// setThreads(n): the OpenMP pool oneDNN and the loops use.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  devise::set_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), devise::threads());
}

// setActivationFormat('nhwc' | 'any' | 'auto')
Napi::Value SetActivationFormat(const Napi::CallbackInfo& info) {
  return guarded(info, [&] { devise::set_activation_format(info[0].As<Napi::String>().Utf8Value()); });
}

// setWinograd(on): Winograd for 3×3 stride-1 convolutions created afterwards.
Napi::Value SetWinograd(const Napi::CallbackInfo& info) {
  devise::set_winograd(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// peak(seconds, n) → {sgemm, conv}: best GFLOP/s of oneDNN sgemm (n×n) and a 3×3 convolution at the current threads.
Napi::Value Peak(const Napi::CallbackInfo& info) {
  double sgemm = 0, conv = 0;
  guarded(info, [&] {
    const double seconds = info[0].As<Napi::Number>().DoubleValue();
    const int64_t n = info[1].As<Napi::Number>().Int64Value();
    sgemm = devise::peak_sgemm_gflops(n, seconds);
    conv = devise::peak_conv_gflops(seconds);
  });
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("sgemm", sgemm);
  o.Set("conv", conv);
  return o;
}

// info() → {dnnl, isa, threads, format, winograd, cached, blocked, winogradPrimitives}
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("dnnl", devise::dnnl_version());
  o.Set("isa", devise::dnnl_isa());
  o.Set("threads", devise::threads());
  o.Set("format", devise::activation_format());
  o.Set("winograd", devise::winograd());
  o.Set("cached", static_cast<double>(devise::cached_primitives()));
  o.Set("blocked", static_cast<double>(devise::blocked_primitives()));
  o.Set("winogradPrimitives", static_cast<double>(devise::winograd_primitives()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("columnSum", Napi::Function::New(env, ColumnSum));
  exports.Set("shiftCopy", Napi::Function::New(env, ShiftCopy));
  exports.Set("batchNormGrad", Napi::Function::New(env, BatchNormGrad));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("batchNormStats", Napi::Function::New(env, BatchNormStats));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad));
  exports.Set("copyBlocks", Napi::Function::New(env, CopyBlocks));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setActivationFormat", Napi::Function::New(env, SetActivationFormat));
  exports.Set("setWinograd", Napi::Function::New(env, SetWinograd));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("peak", Napi::Function::New(env, Peak));
  return exports;
}

}  // namespace

NODE_API_MODULE(devise_native, Init)
