// Convolutions on oneDNN, cached per shape. tfjs memory is bound to oneDNN "user" memories (NHWC
// activations, HWIO weights) by pointer on every call; where the primitive prefers another layout
// (blocked weights, or blocked activations with set_activation_format("any") or Winograd) a cached
// reorder moves the data into a buffer the cache entry owns. Scratchpads are owned by the entry too,
// so a call allocates nothing once its shape has been seen.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"
#include "kernels.h"

namespace devise {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  static dnnl::stream s(cpu());
  return s;
}

std::string g_format = "nhwc";
size_t blocked_count = 0;  // "auto" choices that went to the blocked layout
bool g_winograd = true;
size_t winograd_count = 0;  // primitives made with Winograd

// A tensor as the caller holds it (`user`, bound by pointer per call) and as the primitive wants it
// (`inner`): the same memory when the layouts agree, else a buffer of the entry plus a reorder.
struct Port {
  memory user, inner;
  std::optional<dnnl::reorder> reorder;

  Port() = default;
  Port(const memory::desc& user_md, const memory::desc& want, bool input) {
    user = memory(user_md, cpu(), DNNL_MEMORY_NONE);
    if (want == user_md) {
      inner = user;
    } else {
      inner = memory(want, cpu());
      reorder = input ? dnnl::reorder(user, inner) : dnnl::reorder(inner, user);
    }
  }
  // Binds the caller's pointer; for an input, brings the data into the primitive's layout.
  void in(const void* p) {
    user.set_data_handle(const_cast<void*>(p));
    if (reorder) reorder->execute(stream(), user, inner);
  }
  void bind_out(void* p) { user.set_data_handle(p); }
  // For an output, after the primitive ran: moves the result into the caller's layout.
  void out() {
    if (reorder) reorder->execute(stream(), inner, user);
  }
};

memory::desc act(int64_t n, int64_t c, int64_t h, int64_t w, tag t) { return memory::desc({n, c, h, w}, dt::f32, t); }

struct Geometry {
  memory::desc src_user, wei_user, dst_user, src_any, wei_any, dst_any;
  memory::dims strides, dilates, pad_l, pad_r;
};

Geometry geometry(const ConvDims& d, tag a) {
  return {
      act(d.n, d.ci, d.h, d.w, tag::nhwc), memory::desc({d.co, d.ci, d.kh, d.kw}, dt::f32, tag::hwio),
      act(d.n, d.co, d.oh, d.ow, tag::nhwc), act(d.n, d.ci, d.h, d.w, a),
      memory::desc({d.co, d.ci, d.kh, d.kw}, dt::f32, tag::any), act(d.n, d.co, d.oh, d.ow, a),
      {d.sh, d.sw}, {d.dh - 1, d.dw - 1}, {d.pt, d.pl}, {d.pb, d.pr},
  };
}

dnnl::primitive_attr user_scratchpad(const dnnl::post_ops* ops = nullptr) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (ops) attr.set_post_ops(*ops);
  return attr;
}

// 3×3, stride 1, no dilation, at least 16 channels in and out: where oneDNN has Winograd F(4×4, 3×3) (AVX-512). It
// computes the same convolution with fewer multiplications, in oneDNN's blocked layout only (channels in blocks of
// 16: narrower layers would pay for the padding, and keep the direct kernel's exact sums of small integers).
bool winograd_shape(const ConvDims& d) {
  return d.kh == 3 && d.kw == 3 && d.sh == 1 && d.sw == 1 && d.dh == 1 && d.dw == 1 && d.ci >= 16 && d.co >= 16;
}

// The forward descriptor the backward passes take as their hint (same shapes, layouts and algorithm).
dnnl::convolution_forward::primitive_desc forward_hint(const Geometry& g, dnnl::algorithm al) {
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, al,
                                     g.src_any, g.wei_any, g.dst_any, g.strides, g.dilates, g.pad_l, g.pad_r);
  return {fd, cpu()};
}

using Key = std::tuple<int, std::string, std::vector<int64_t>>;

std::vector<int64_t> key_of(const ConvDims& d, int extra) {
  return {d.n, d.h, d.w, d.ci, d.co, d.kh, d.kw, d.oh, d.ow, d.sh, d.sw, d.dh, d.dw, d.pt, d.pl, d.pb, d.pr, extra};
}

// Each entry keeps its execute() argument map: the memories in it are handles whose data pointers are
// rebound per call, so a call builds nothing.
struct Forward {
  dnnl::convolution_forward prim;
  Port src, wei, dst;
  memory bias, scratch;
  std::unordered_map<int, memory> args;
};

struct BackwardData {
  dnnl::convolution_backward_data prim;
  Port diff_dst, wei, diff_src;
  memory scratch;
  std::unordered_map<int, memory> args;
};

struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  Port src, diff_dst, diff_wei;
  memory scratch;
  std::unordered_map<int, memory> args;
};

std::map<Key, std::unique_ptr<Forward>> forwards;
std::map<Key, std::unique_ptr<BackwardData>> backward_datas;
std::map<Key, std::unique_ptr<BackwardWeights>> backward_weights;

std::unique_ptr<Forward> make_forward(const ConvDims& d, bool bias, bool relu, tag a, dnnl::algorithm al) {
  Geometry g = geometry(d, a);
  memory::desc bias_md({d.co}, dt::f32, tag::x);
  // Winograd for inference wants its weights pre-transformed (a reorder of every weight on every call here, as
  // tfjs hands the weights over per call); for training it transforms them inside the primitive.
  const auto prop = al == dnnl::algorithm::convolution_winograd ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  auto fd = bias ? dnnl::convolution_forward::desc(prop, al, g.src_any, g.wei_any, bias_md, g.dst_any, g.strides, g.dilates, g.pad_l, g.pad_r)
                 : dnnl::convolution_forward::desc(prop, al, g.src_any, g.wei_any, g.dst_any, g.strides, g.dilates, g.pad_l, g.pad_r);
  dnnl::post_ops ops;
  if (relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  dnnl::convolution_forward::primitive_desc pd(fd, user_scratchpad(&ops), cpu());
  auto e = std::make_unique<Forward>();
  e->prim = dnnl::convolution_forward(pd);
  e->src = Port(g.src_user, pd.src_desc(), true);
  e->wei = Port(g.wei_user, pd.weights_desc(), true);
  e->dst = Port(g.dst_user, pd.dst_desc(), false);
  e->bias = memory(bias_md, cpu(), DNNL_MEMORY_NONE);
  e->scratch = memory(pd.scratchpad_desc(), cpu());
  e->args = {{DNNL_ARG_SRC, e->src.inner}, {DNNL_ARG_WEIGHTS, e->wei.inner}, {DNNL_ARG_DST, e->dst.inner}, {DNNL_ARG_SCRATCHPAD, e->scratch}};
  if (bias) e->args.emplace(DNNL_ARG_BIAS, e->bias);
  return e;
}

std::unique_ptr<BackwardData> make_backward_data(const ConvDims& d, tag a, dnnl::algorithm al) {
  Geometry g = geometry(d, a);
  dnnl::convolution_backward_data::desc bd(al, g.src_any, g.wei_any, g.dst_any, g.strides, g.dilates, g.pad_l, g.pad_r);
  dnnl::convolution_backward_data::primitive_desc pd(bd, user_scratchpad(), cpu(), forward_hint(g, al));
  auto e = std::make_unique<BackwardData>();
  e->prim = dnnl::convolution_backward_data(pd);
  e->diff_dst = Port(g.dst_user, pd.diff_dst_desc(), true);
  e->wei = Port(g.wei_user, pd.weights_desc(), true);
  e->diff_src = Port(g.src_user, pd.diff_src_desc(), false);
  e->scratch = memory(pd.scratchpad_desc(), cpu());
  e->args = {{DNNL_ARG_DIFF_DST, e->diff_dst.inner}, {DNNL_ARG_WEIGHTS, e->wei.inner}, {DNNL_ARG_DIFF_SRC, e->diff_src.inner}, {DNNL_ARG_SCRATCHPAD, e->scratch}};
  return e;
}

std::unique_ptr<BackwardWeights> make_backward_weights(const ConvDims& d, tag a, dnnl::algorithm al) {
  Geometry g = geometry(d, a);
  dnnl::convolution_backward_weights::desc bd(al, g.src_any, g.wei_any, g.dst_any, g.strides, g.dilates, g.pad_l, g.pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(bd, user_scratchpad(), cpu(), forward_hint(g, al));
  auto e = std::make_unique<BackwardWeights>();
  e->prim = dnnl::convolution_backward_weights(pd);
  e->src = Port(g.src_user, pd.src_desc(), true);
  e->diff_dst = Port(g.dst_user, pd.diff_dst_desc(), true);
  e->diff_wei = Port(g.wei_user, pd.diff_weights_desc(), false);
  e->scratch = memory(pd.scratchpad_desc(), cpu());
  e->args = {{DNNL_ARG_SRC, e->src.inner}, {DNNL_ARG_DIFF_DST, e->diff_dst.inner}, {DNNL_ARG_DIFF_WEIGHTS, e->diff_wei.inner}, {DNNL_ARG_SCRATCHPAD, e->scratch}};
  return e;
}

// Best of two timed runs, in seconds.
template <typename F>
double best_of_two(F f) {
  double best = 1e30;
  for (int i = 0; i < 2; i++) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// The cached primitive for `key`, made on first use: Winograd (blocked) where the shape and oneDNN allow it,
// else direct in the activation format. In "auto" format both layouts are built and run twice on this
// call's data; blocked is kept only when clearly (>10%) faster than plain NHWC.
template <typename E, typename Make, typename Run>
E& cached(std::map<Key, std::unique_ptr<E>>& cache, const Key& key, bool winograd, Make make, Run run) {
  auto& slot = cache[key];
  if (slot) return *slot;
  if (g_winograd && winograd) {
    try {
      slot = make(tag::any, dnnl::algorithm::convolution_winograd);
      winograd_count++;
      return *slot;
    } catch (const dnnl::error&) {
      // no Winograd implementation for this shape or CPU: direct below
    }
  }
  const auto direct = dnnl::algorithm::convolution_direct;
  if (g_format != "auto") {
    slot = make(g_format == "any" ? tag::any : tag::nhwc, direct);
    return *slot;
  }
  auto plain = make(tag::nhwc, direct), blocked = make(tag::any, direct);
  const double tp = best_of_two([&] { run(*plain); }), tb = best_of_two([&] { run(*blocked); });
  slot = std::move(tb < 0.9 * tp ? blocked : plain);
  if (slot.get() != plain.get()) blocked_count++;
  return *slot;
}

// What a cached primitive was made under (part of its key): the activation format and Winograd on/off.
std::string settings() { return g_format + (g_winograd ? "+winograd" : ""); }

void run_forward(Forward& e, const float* x, const float* w, const float* bias, float* y) {
  e.src.in(x);
  e.wei.in(w);
  e.dst.bind_out(y);
  if (bias) e.bias.set_data_handle(const_cast<float*>(bias));
  e.prim.execute(stream(), e.args);
  e.dst.out();
  stream().wait();
}

void run_backward_data(BackwardData& e, const float* dy, const float* w, float* dx) {
  e.diff_dst.in(dy);
  e.wei.in(w);
  e.diff_src.bind_out(dx);
  e.prim.execute(stream(), e.args);
  e.diff_src.out();
  stream().wait();
}

void run_backward_weights(BackwardWeights& e, const float* x, const float* dy, float* dw) {
  e.src.in(x);
  e.diff_dst.in(dy);
  e.diff_wei.bind_out(dw);
  e.prim.execute(stream(), e.args);
  e.diff_wei.out();
  stream().wait();
}

}  // namespace

void conv_forward(const ConvDims& d, const float* x, const float* w, const float* bias, float* y, bool relu) {
  auto run = [&](Forward& e) { run_forward(e, x, w, bias, y); };
  run(cached(forwards, Key{(bias != nullptr) + 2 * relu, settings(), key_of(d, 0)}, winograd_shape(d),
             [&](tag a, dnnl::algorithm al) { return make_forward(d, bias != nullptr, relu, a, al); }, run));
}

void conv_backward_data(const ConvDims& d, const float* dy, const float* w, float* dx) {
  auto run = [&](BackwardData& e) { run_backward_data(e, dy, w, dx); };
  run(cached(backward_datas, Key{0, settings(), key_of(d, 0)}, winograd_shape(d),
             [&](tag a, dnnl::algorithm al) { return make_backward_data(d, a, al); }, run));
}

void conv_backward_weights(const ConvDims& d, const float* x, const float* dy, float* dw) {
  auto run = [&](BackwardWeights& e) { run_backward_weights(e, x, dy, dw); };
  run(cached(backward_weights, Key{0, settings(), key_of(d, 0)}, winograd_shape(d),
             [&](tag a, dnnl::algorithm al) { return make_backward_weights(d, a, al); }, run));
}

void set_activation_format(const std::string& format) {
  if (format != "nhwc" && format != "any" && format != "auto") {
    throw std::invalid_argument("activation format must be 'nhwc', 'any' or 'auto', got '" + format + "'");
  }
  g_format = format;
}

std::string activation_format() { return g_format; }

void set_winograd(bool on) { g_winograd = on; }

bool winograd() { return g_winograd; }

size_t winograd_primitives() { return winograd_count; }

size_t cached_primitives() { return forwards.size() + backward_datas.size() + backward_weights.size(); }

size_t blocked_primitives() { return blocked_count; }

std::string dnnl_version() {
  const dnnl_version_t* v = ::dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string dnnl_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

}  // namespace devise
