// Aligned, zero-filled slab memory handed to JavaScript as an external ArrayBuffer. The TypeScript
// pool (src/pool) carves slots out of a slab itself, so JavaScript calls in here once per slab,
// never per buffer.
#pragma once

#include <napi.h>

namespace picotcp {

// allocSlab(bytes, alignment): ArrayBuffer. Throws RangeError on bad arguments, Error when out of memory.
Napi::Value AllocSlab(const Napi::CallbackInfo& info);

}  // namespace picotcp
