#include "kernel/frame_alloc.h"

namespace ptb {

namespace {
constexpr u64 round_up(u64 v, u64 a) {
  return v > ~u64{0} - (a - 1) ? ~u64{0} & ~(a - 1) : (v + a - 1) & ~(a - 1);
}
constexpr u64 round_down(u64 v, u64 a) { return v & ~(a - 1); }
}  // namespace

bool FrameAllocator::insert(u64 start, u64 end) {
  if (start >= end) return true;
  // Merge with overlapping or touching neighbours, keeping the array sorted and disjoint.
  usize i = 0;
  while (i < count_ && ranges_[i].end < start) ++i;
  usize j = i;
  while (j < count_ && ranges_[j].start <= end) {
    if (ranges_[j].start < start) start = ranges_[j].start;
    if (ranges_[j].end > end) end = ranges_[j].end;
    ++j;
  }
  usize merged = j - i;
  if (merged == 0) {
    if (count_ == kMaxRanges) {
      dropped_ += end - start;
      return false;
    }
    for (usize k = count_; k > i; --k) ranges_[k] = ranges_[k - 1];
    ++count_;
  } else {
    for (usize k = 1; k < merged; ++k) remove_at(i + 1);
  }
  ranges_[i] = {start, end};
  return true;
}

void FrameAllocator::remove_at(usize i) {
  for (usize k = i; k + 1 < count_; ++k) ranges_[k] = ranges_[k + 1];
  --count_;
}

bool FrameAllocator::add_available(u64 base, u64 length) {
  if (length == 0 || base > ~u64{0} - length) return true;
  if (base + length > top_) top_ = base + length;
  u64 start = round_up(base, kFrame), end = round_down(base + length, kFrame);
  if (start == 0) start = kFrame;  // frame 0 doubles as "no frame"
  return insert(start, end);
}

bool FrameAllocator::reserve(u64 start, u64 end) {
  start = round_down(start, kFrame);
  end = round_up(end, kFrame);
  bool ok = true;
  for (usize i = 0; i < count_;) {
    PhysRange r = ranges_[i];
    if (r.end <= start || r.start >= end) {
      ++i;
      continue;
    }
    if (r.start < start && r.end > end) {  // split in two
      ranges_[i].end = start;
      if (!insert(end, r.end)) ok = false;
      return ok;
    }
    if (r.start < start) {
      ranges_[i].end = start;
      ++i;
    } else if (r.end > end) {
      ranges_[i].start = end;
      ++i;
    } else {
      remove_at(i);
    }
  }
  return ok;
}

u64 FrameAllocator::alloc(u64 limit) { return alloc_contiguous(1, kFrame, limit); }

u64 FrameAllocator::alloc_contiguous(usize count, u64 align, u64 limit) {
  if (count == 0 || align < kFrame || (align & (align - 1)) != 0) return 0;
  if (count > (~u64{0} / kFrame)) return 0;  // more bytes than an address space holds
  u64 bytes = u64{count} * kFrame;
  for (usize k = count_; k > 0; --k) {
    const PhysRange r = ranges_[k - 1];
    u64 top = r.end < limit ? r.end : round_down(limit, kFrame);
    if (top < r.start + bytes) continue;
    u64 first = round_down(top - bytes, align);
    if (first < r.start || first == 0) continue;
    reserve(first, first + bytes);
    return first;
  }
  return 0;
}

u64 FrameAllocator::free_bytes() const {
  u64 sum = 0;
  for (usize i = 0; i < count_; ++i) sum += ranges_[i].end - ranges_[i].start;
  return sum;
}

u64 FrameAllocator::ram_top() const { return top_; }

}  // namespace ptb
