// Memory shared between CPUs: acquire loads and release stores (the compiler's builtins; on x86
// they are plain moves that the compiler may not reorder), so that what one CPU wrote before a
// release store is visible to another once its acquire load sees that store.
#pragma once

#include "lib/types.h"

namespace ptb {

template <class T>
inline T load_acquire(const T& v) {
  return __atomic_load_n(&v, __ATOMIC_ACQUIRE);
}
template <class T>
inline void store_release(T& v, T x) {
  __atomic_store_n(&v, x, __ATOMIC_RELEASE);
}
// Returns the value before the addition.
template <class T>
inline T fetch_add(T& v, T x) {
  return __atomic_fetch_add(&v, x, __ATOMIC_ACQ_REL);
}

}  // namespace ptb
