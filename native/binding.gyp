# Builds devise_native.node against Debian's oneDNN (libdnnl-dev) with OpenMP, the runtime libdnnl.so.2
# is built for. No -mavx2 or -march: oneDNN's JIT picks the ISA of the machine at run time.
{
  "targets": [{
    "target_name": "devise_native",
    "sources": ["src/addon.cc", "src/conv.cc", "src/loops.cc", "src/peak.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions"],
    "cflags_cc!": ["-fno-exceptions"],
    "ldflags": ["-fopenmp"],
    "libraries": ["-ldnnl"]
  }]
}
