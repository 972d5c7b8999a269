// Slab allocation for the buffer pool: posix_memalign'd, zero-filled memory wrapped in an external
// ArrayBuffer whose finalizer frees it. The size is reported to V8 with napi_adjust_external_memory
// so the GC sees the pressure of memory it did not allocate itself.
//
// Do not transfer a slab (postMessage transfer list, ArrayBuffer.prototype.transfer): the finalizer
// is tied to the original ArrayBuffer object and would free memory the new owner still uses.

#include "slab.h"

#include <cstdlib>
#include <cstring>

namespace picotcp {
namespace {

// Largest slab and alignment accepted: 4 GiB is far beyond any sane pool slab; 2 MiB is a huge page.
constexpr double kMaxSlabBytes = 4294967296.0;
constexpr size_t kMaxAlignment = size_t{1} << 21;

void* AllocAligned(size_t bytes, size_t alignment) {
#if defined(_WIN32)
  void* p = _aligned_malloc(bytes, alignment);
#else
  void* p = nullptr;
  if (posix_memalign(&p, alignment, bytes) != 0) p = nullptr;
#endif
  if (p != nullptr) std::memset(p, 0, bytes);  // slabs start zeroed, like new ArrayBuffer(n)
  return p;
}

void FreeAligned(void* p) {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

void FinalizeSlab(napi_env env, void* data, void* hint) {
  const auto bytes = static_cast<int64_t>(reinterpret_cast<uintptr_t>(hint));
  FreeAligned(data);
  int64_t ignored;
  napi_adjust_external_memory(env, -bytes, &ignored);
}

bool IsIntegerIn(const Napi::Value& v, double lo, double hi, double* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
  *out = d;
  return true;
}

}  // namespace

Napi::Value AllocSlab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double bytesD = 0;
  double alignD = 0;
  if (info.Length() < 2 || !IsIntegerIn(info[0], 1, kMaxSlabBytes, &bytesD)) {
    Napi::RangeError::New(env, "allocSlab: bytes must be an integer in 1..2^32").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!IsIntegerIn(info[1], 1, static_cast<double>(kMaxAlignment), &alignD)) {
    Napi::RangeError::New(env, "allocSlab: alignment must be an integer in 1..2^21").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const auto bytes = static_cast<size_t>(bytesD);
  auto alignment = static_cast<size_t>(alignD);
  if ((alignment & (alignment - 1)) != 0) {
    Napi::RangeError::New(env, "allocSlab: alignment must be a power of two").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (alignment < sizeof(void*)) alignment = sizeof(void*);  // posix_memalign's minimum

  void* mem = AllocAligned(bytes, alignment);
  if (mem == nullptr) {
    Napi::Error::New(env, "allocSlab: out of memory").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, mem, bytes, FinalizeSlab,
                                                    reinterpret_cast<void*>(static_cast<uintptr_t>(bytes)), &ab);
  if (st != napi_ok) {
    FreeAligned(mem);
    // A runtime with the V8 sandbox forbids external buffers; the caller falls back to heap slabs.
    Napi::Error::New(env, "allocSlab: cannot create an external ArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t ignored;
  napi_adjust_external_memory(env, static_cast<int64_t>(bytes), &ignored);
  return Napi::Value(env, ab);
}

}  // namespace picotcp
