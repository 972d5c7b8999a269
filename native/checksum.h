// RFC 1071 Internet checksum kernels: a portable scalar one and, on x86, SSE2 and AVX2 ones picked
// at run time. No N-API here; addon.cc adapts these to JavaScript.
#pragma once

#include <cstddef>
#include <cstdint>

namespace picotcp {

// Ones'-complement sum of p[0, len) read as big-endian 16-bit words (an odd trailing byte is padded
// with a zero low byte), plus `seed`, folded to 16 bits and NOT complemented. Same contract as
// ChecksumProvider.sum in src/ports/checksum.ts: 0 only when seed and every byte are 0, otherwise
// the value in 1..0xffff congruent to the total modulo 0xffff.
using ChecksumKernel = uint32_t (*)(const uint8_t* p, size_t len, uint32_t seed);

struct ChecksumKernelInfo {
  const char* name;  // "scalar", "sse2" or "avx2"
  ChecksumKernel fn;
};

// Kernels this CPU can run, slowest first. `*count` receives how many.
const ChecksumKernelInfo* ChecksumKernels(size_t* count);

// The kernel named `name` if this build and CPU support it, else nullptr.
const ChecksumKernelInfo* FindChecksumKernel(const char* name);

// The fastest kernel this CPU supports.
const ChecksumKernelInfo* BestChecksumKernel();

}  // namespace picotcp
