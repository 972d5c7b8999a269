// picotcp_native: optional accelerators for picotcp-ts. It holds no protocol logic: an Internet
// checksum (SIMD with a scalar fallback) and aligned slab memory for the buffer pool. The loader is
// src/api/native.ts; without this addon the stack runs on its pure TypeScript equivalents.
//
// Exports:
//   checksumSum(buf: Uint8Array, off: number, len: number, seed: number): number
//   checksumSumWith(impl: string, buf: Uint8Array, off: number, len: number, seed: number): number
//   checksumImpl(): string          active kernel ("scalar" | "sse2" | "avx2")
//   checksumKernels(): string[]     kernels this CPU supports, slowest first
//   allocSlab(bytes: number, alignment: number): ArrayBuffer
//
// PICOTCP_NATIVE_CHECKSUM=scalar|sse2|avx2 forces the kernel behind checksumSum; naming one this
// CPU cannot run makes loading fail (the loader reports why) rather than silently differ.

#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "checksum.h"
#include "slab.h"

namespace picotcp {
namespace {

// Reads an integer argument in 0..2^32-1. napi_get_value_double costs the same as the uint32
// variant but lets us reject NaN, fractions, negatives and 2^32+ instead of silently wrapping them.
bool ReadU32(napi_env env, napi_value v, const char* what, uint32_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// Shared argument handling of checksumSum/checksumSumWith: argv = [buf, off, len, seed].
// The typed array's data pointer already includes its byteOffset: no copy is made.
napi_value SumArgs(napi_env env, ChecksumKernel kernel, const napi_value* argv) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checksum: buf must be a Uint8Array");
    return nullptr;
  }
  uint32_t off, len, seed;
  if (!ReadU32(env, argv[1], "checksum: off must be an integer in 0..2^32-1", &off) ||
      !ReadU32(env, argv[2], "checksum: len must be an integer in 0..2^32-1", &len) ||
      !ReadU32(env, argv[3], "checksum: seed must be an integer in 0..2^32-1", &seed)) {
    return nullptr;
  }
  if (off > length || len > length - off) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "checksum: off + len exceeds buf.length");
    return nullptr;
  }
  const uint32_t sum = kernel(static_cast<const uint8_t*>(data) + off, len, seed);
  napi_value result;
  napi_create_uint32(env, sum, &result);
  return result;
}

// Hot path: raw N-API (no C++ wrapper objects). The kernel pointer travels as the function's data.
napi_value ChecksumSum(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void* data;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "checksumSum(buf, off, len, seed) needs 4 arguments");
    return nullptr;
  }
  return SumArgs(env, static_cast<const ChecksumKernelInfo*>(data)->fn, argv);
}

// Test hook: runs a named kernel so one process can check every kernel against the TS reference.
napi_value ChecksumSumWith(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 5) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "checksumSumWith(impl, buf, off, len, seed) needs 5 arguments");
    return nullptr;
  }
  char name[16];
  size_t nameLen;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nameLen) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checksumSumWith: impl must be a string");
    return nullptr;
  }
  const ChecksumKernelInfo* k = FindChecksumKernel(name);
  if (k == nullptr) {
    napi_throw_error(env, "ERR_INVALID_ARG_VALUE", "checksumSumWith: kernel unknown or not supported by this CPU");
    return nullptr;
  }
  return SumArgs(env, k->fn, argv + 1);
}

std::string KernelNames() {
  size_t count;
  const ChecksumKernelInfo* ks = ChecksumKernels(&count);
  std::string names;
  for (size_t i = 0; i < count; ++i) names += (i ? ", " : "") + std::string(ks[i].name);
  return names;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const ChecksumKernelInfo* active = BestChecksumKernel();
  const char* forced = std::getenv("PICOTCP_NATIVE_CHECKSUM");
  if (forced != nullptr && forced[0] != '\0') {
    active = FindChecksumKernel(forced);
    if (active == nullptr) {
      Napi::Error::New(env, std::string("PICOTCP_NATIVE_CHECKSUM=") + forced +
                                " is not available on this CPU/build (available: " + KernelNames() + ")")
          .ThrowAsJavaScriptException();
      return exports;
    }
  }

  napi_value fn;
  // The kernel table is static, so its entries outlive every environment that points at them.
  napi_create_function(env, "checksumSum", NAPI_AUTO_LENGTH, ChecksumSum,
                       const_cast<ChecksumKernelInfo*>(active), &fn);
  exports.Set("checksumSum", Napi::Value(env, fn));
  napi_create_function(env, "checksumSumWith", NAPI_AUTO_LENGTH, ChecksumSumWith, nullptr, &fn);
  exports.Set("checksumSumWith", Napi::Value(env, fn));

  const std::string activeName = active->name;
  exports.Set("checksumImpl", Napi::Function::New(env, [activeName](const Napi::CallbackInfo& info) -> Napi::Value {
                return Napi::String::New(info.Env(), activeName);
              }, "checksumImpl"));
  exports.Set("checksumKernels", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                size_t count;
                const ChecksumKernelInfo* ks = ChecksumKernels(&count);
                Napi::Array out = Napi::Array::New(info.Env(), count);
                for (size_t i = 0; i < count; ++i) out.Set(static_cast<uint32_t>(i), ks[i].name);
                return out;
              }, "checksumKernels"));
  exports.Set("allocSlab", Napi::Function::New(env, AllocSlab, "allocSlab"));
  return exports;
}

}  // namespace picotcp

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return picotcp::Init(env, exports); }

NODE_API_MODULE(picotcp_native, InitModule)
