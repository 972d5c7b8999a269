// RFC 1071 Internet checksum kernels.
//
// Every kernel first computes a "raw" sum: 16-bit words loaded in HOST byte order at even offsets
// from the start (an odd trailing byte padded as the word's second byte), in any width and any
// number of partial accumulators. Since 2^16 == 1 (mod 0xffff), wider words and carries out of
// 64 bits reduce to the same residue, so partial sums just add. Byte order is fixed once at the end
// (RFC 1071 §2(B): swapping bytes of the folded sum equals summing byte-swapped words).
//
// The raw sum must also stay zero exactly when the input is all zeros, because the folded result
// distinguishes 0 (all zero) from 0xffff (a non-zero multiple of 0xffff), like the TS implementation.

#include "checksum.h"

#include <cstring>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define PICOTCP_X86 1
#include <immintrin.h>
#else
#define PICOTCP_X86 0
#endif

namespace picotcp {
namespace {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr bool kLittleEndian = false;
#else
constexpr bool kLittleEndian = true;
#endif

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);  // unaligned-safe; compiles to a plain load
  return v;
}

inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// End-around-carry fold of a 64-bit sum to 16 bits. Each step maps a positive value to a positive
// value, so the result is 0 only for 0.
inline uint32_t Fold(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);  // <= 0x1fffffffe
  s = (s & 0xffffffffu) + (s >> 32);  // <= 0xffffffff
  s = (s & 0xffffu) + (s >> 16);      // <= 0x1fffe
  s = (s & 0xffffu) + (s >> 16);      // <= 0xffff
  return static_cast<uint32_t>(s);
}

inline uint32_t Swap16(uint32_t v) { return ((v & 0xffu) << 8) | (v >> 8); }

// Raw sum -> the ChecksumKernel result (big-endian words, plus seed, folded).
inline uint32_t Finish(uint64_t raw, uint32_t seed) {
  uint32_t s = Fold(raw);
  if (kLittleEndian) s = Swap16(s);
  return Fold(uint64_t{s} + seed);
}

// Portable raw sum: 64-bit words with the carries counted separately (each carry out of bit 63 is
// worth 2^64 == 1 mod 0xffff), so any length is exact. Four independent chains keep the adders busy.
uint64_t RawScalar(const uint8_t* p, size_t n) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, c = 0;
  while (n >= 32) {
    const uint64_t w0 = Load64(p), w1 = Load64(p + 8), w2 = Load64(p + 16), w3 = Load64(p + 24);
    a0 += w0;
    c += a0 < w0;
    a1 += w1;
    c += a1 < w1;
    a2 += w2;
    c += a2 < w2;
    a3 += w3;
    c += a3 < w3;
    p += 32;
    n -= 32;
  }
  uint64_t t = 0;
  while (n >= 2) {
    t += Load16(p);
    p += 2;
    n -= 2;
  }
  if (n != 0) t += kLittleEndian ? uint64_t{p[0]} : uint64_t{p[0]} << 8;
  return uint64_t{Fold(a0)} + Fold(a1) + Fold(a2) + Fold(a3) + c + t;
}

// Splits off an unaligned head so a SIMD body reads aligned blocks (no cache-line-splitting loads).
// When the head has odd length the body's words straddle the original word grid, so its folded sum
// is byte-swapped before being added (the RFC 1071 byte-order argument again).
template <uint64_t (*Body)(const uint8_t*, size_t), uintptr_t Align>
uint64_t RawAligned(const uint8_t* p, size_t n) {
  const uintptr_t mis = reinterpret_cast<uintptr_t>(p) & (Align - 1);
  if (mis == 0 || n < 4 * Align) return Body(p, n);
  const size_t head = Align - mis;
  const uint64_t h = RawScalar(p, head);
  const uint64_t b = Body(p + head, n - head);
  return h + ((head & 1) != 0 ? Swap16(Fold(b)) : b);
}

uint32_t SumScalar(const uint8_t* p, size_t n, uint32_t seed) { return Finish(RawScalar(p, n), seed); }

#if PICOTCP_X86

// SIMD bodies. PMADDWD multiplies signed 16-bit words by 1 and adds adjacent pairs into 32-bit
// lanes: one instruction widens and sums. Words are unsigned, so each is biased by XOR 0x8000 (u ->
// u - 32768 as a signed word) and the bias, 65536 per lane per vector, is added back when the lanes
// are widened. A lane moves by at most 65536 per vector, so 32768 iterations stay within int32.
constexpr size_t kMaxIters = 32768;
static_assert(kMaxIters * 65536ull <= 2147483648ull, "int32 lane accumulator would overflow");

__attribute__((target("sse2"))) inline int64_t Lanes128(__m128i v) {
  alignas(16) int32_t l[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(l), v);
  return int64_t{l[0]} + l[1] + l[2] + l[3];
}

__attribute__((target("sse2"))) uint64_t BodySse2(const uint8_t* p, size_t n) {
  const __m128i bias = _mm_set1_epi16(static_cast<int16_t>(0x8000));
  const __m128i ones = _mm_set1_epi16(1);
  int64_t total = 0;  // the true sum of non-negative words: never negative once the bias is undone
  while (n >= 64) {
    size_t iters = n / 64;
    if (iters > kMaxIters) iters = kMaxIters;
    n -= iters * 64;
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = iters; i != 0; --i, p += 64) {
      const auto* q = reinterpret_cast<const __m128i*>(p);
      a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_xor_si128(_mm_loadu_si128(q), bias), ones));
      a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_xor_si128(_mm_loadu_si128(q + 1), bias), ones));
      a2 = _mm_add_epi32(a2, _mm_madd_epi16(_mm_xor_si128(_mm_loadu_si128(q + 2), bias), ones));
      a3 = _mm_add_epi32(a3, _mm_madd_epi16(_mm_xor_si128(_mm_loadu_si128(q + 3), bias), ones));
    }
    total += Lanes128(a0) + Lanes128(a1) + Lanes128(a2) + Lanes128(a3);
    total += static_cast<int64_t>(iters) * (4 * 4 * 65536);  // 4 vectors x 4 lanes per iteration
  }
  return static_cast<uint64_t>(total) + RawScalar(p, n);
}

__attribute__((target("avx2"))) inline int64_t Lanes256(__m256i v) {
  alignas(32) int32_t l[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), v);
  return int64_t{l[0]} + l[1] + l[2] + l[3] + l[4] + l[5] + l[6] + l[7];
}

__attribute__((target("avx2"))) uint64_t BodyAvx2(const uint8_t* p, size_t n) {
  const __m256i bias = _mm256_set1_epi16(static_cast<int16_t>(0x8000));
  const __m256i ones = _mm256_set1_epi16(1);
  int64_t total = 0;
  while (n >= 128) {
    size_t iters = n / 128;
    if (iters > kMaxIters) iters = kMaxIters;
    n -= iters * 128;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = iters; i != 0; --i, p += 128) {
      const auto* q = reinterpret_cast<const __m256i*>(p);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_xor_si256(_mm256_loadu_si256(q), bias), ones));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_xor_si256(_mm256_loadu_si256(q + 1), bias), ones));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_xor_si256(_mm256_loadu_si256(q + 2), bias), ones));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_xor_si256(_mm256_loadu_si256(q + 3), bias), ones));
    }
    total += Lanes256(a0) + Lanes256(a1) + Lanes256(a2) + Lanes256(a3);
    total += static_cast<int64_t>(iters) * (4 * 8 * 65536);  // 4 vectors x 8 lanes per iteration
  }
  // GCC does not always emit VZEROUPPER for target("avx2") functions; without it the legacy-SSE
  // code that runs next (our SSE2 tail, Node itself) pays an AVX-SSE transition penalty (measured:
  // 1500-byte sums 5x slower).
  _mm256_zeroupper();
  // Up to 127 bytes remain: the 128-bit body takes 64 of them, the scalar loop the rest.
  return static_cast<uint64_t>(total) + BodySse2(p, n);
}

uint32_t SumSse2(const uint8_t* p, size_t n, uint32_t seed) {
  return Finish(RawAligned<BodySse2, 16>(p, n), seed);
}

uint32_t SumAvx2(const uint8_t* p, size_t n, uint32_t seed) {
  return Finish(RawAligned<BodyAvx2, 32>(p, n), seed);
}

#endif  // PICOTCP_X86

struct KernelTable {
  ChecksumKernelInfo kernels[3];
  size_t count;
};

const KernelTable& Table() {
  // Function-local static: initialised once even if several Node environments (workers) load us.
  static const KernelTable table = [] {
    KernelTable t{};
    t.kernels[t.count++] = {"scalar", SumScalar};
#if PICOTCP_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse2")) t.kernels[t.count++] = {"sse2", SumSse2};
    // libgcc's avx2 bit also requires the OS to save YMM state (XGETBV), so this is safe to run.
    if (__builtin_cpu_supports("avx2")) t.kernels[t.count++] = {"avx2", SumAvx2};
#endif
    return t;
  }();
  return table;
}

}  // namespace

const ChecksumKernelInfo* ChecksumKernels(size_t* count) {
  const KernelTable& t = Table();
  *count = t.count;
  return t.kernels;
}

const ChecksumKernelInfo* FindChecksumKernel(const char* name) {
  const KernelTable& t = Table();
  for (size_t i = 0; i < t.count; ++i) {
    if (std::strcmp(t.kernels[i].name, name) == 0) return &t.kernels[i];
  }
  return nullptr;
}

const ChecksumKernelInfo* BestChecksumKernel() {
  const KernelTable& t = Table();
  return &t.kernels[t.count - 1];
}

}  // namespace picotcp
