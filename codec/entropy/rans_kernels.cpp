// Kernel selection for the rANS coder (tests and benchmarks can force the portable scalar
// kernels or one Highway target; the payload bytes never depend on the choice).
#include <atomic>

#include <hwy/highway.h>
#include <hwy/targets.h>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_internal.hpp"

namespace ftc::entropy {
namespace {
std::atomic<int> g_kernel{0};
std::atomic<int> g_lookup{0};
}

void rans_set_kernel(RansKernel kernel) { g_kernel.store(static_cast<int>(kernel), std::memory_order_relaxed); }
RansKernel rans_kernel() { return static_cast<RansKernel>(g_kernel.load(std::memory_order_relaxed)); }

std::vector<std::int64_t> rans_simd_targets() {
  std::vector<std::int64_t> t = hwy::SupportedAndGeneratedTargets();
  return t;  // lowest bit first = best target first on x86
}

const char* rans_target_name(std::int64_t target) { return hwy::TargetName(target); }

void rans_force_simd_target(std::int64_t target) { hwy::SetSupportedTargetsForTest(target); }

void rans_set_lookup(RansLookup lookup) { g_lookup.store(static_cast<int>(lookup), std::memory_order_relaxed); }

namespace rans_detail {
bool use_simd() { return rans_kernel() == RansKernel::automatic; }

// Table lookups by scalar loads where the CPU's vector gather is microcoded (AMD's AVX-512 cores:
// a gather costs several times the loads it replaces; docs/benchmarks.md), by gathers elsewhere.
bool lookups_by_loads() {
  switch (static_cast<RansLookup>(g_lookup.load(std::memory_order_relaxed))) {
    case RansLookup::gather: return false;
    case RansLookup::loads: return true;
    default: break;
  }
#if HWY_ARCH_X86
  static const bool amd = __builtin_cpu_is("amd");
  return amd;
#else
  return false;
#endif
}
}  // namespace rans_detail

}  // namespace ftc::entropy
