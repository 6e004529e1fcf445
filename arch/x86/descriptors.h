// Segment descriptors, the 64-bit TSS and IDT gates (SDM Vol.3 3.4.5, 7.2.3, 6.14.1). Pure
// constexpr encoders, host-tested. The selector order is fixed by SYSCALL/SYSRET (see Selectors).
#pragma once

#include "lib/types.h"

namespace ptb::x86 {

// GDT layout. SYSRET to 64-bit mode takes CS = base + 16 and SS = base + 8 (SDM Vol.3 5.8.8), so
// user data must sit right after a (32-bit, unused) user code slot and right before user code.
// Linux orders its GDT the same way for the same reason.
namespace sel {
inline constexpr u16 kNull = 0x00;
inline constexpr u16 kKernelCode = 0x08;
inline constexpr u16 kKernelData = 0x10;
inline constexpr u16 kUserCode32 = 0x18;  // SYSRET base; never loaded
inline constexpr u16 kUserData = 0x20;
inline constexpr u16 kUserCode = 0x28;
inline constexpr u16 kTss = 0x30;  // 16 bytes: two slots
inline constexpr u16 kGdtEntries = 8;
inline constexpr u16 kRpl3 = 3;
}  // namespace sel

static_assert(sel::kUserCode32 + 16 == sel::kUserCode && sel::kUserCode32 + 8 == sel::kUserData);
static_assert(sel::kKernelCode + 8 == sel::kKernelData);

// A code or data segment descriptor. In long mode base and limit are ignored for CS/DS/SS, but
// the access byte (present, DPL, type) and the L bit still matter.
struct SegmentDescriptor {
  u64 raw = 0;
  static constexpr u64 kAccessed = u64{1} << 40, kWritable = u64{1} << 41,
                       kExecutable = u64{1} << 43, kCodeOrData = u64{1} << 44,
                       kPresent = u64{1} << 47, kLong = u64{1} << 53, kDefault32 = u64{1} << 54,
                       kGranularity = u64{1} << 55, kLimitLow = 0xffff, kLimitHigh = u64{0xf} << 48;
  static constexpr u64 dpl(unsigned ring) { return u64{ring & 3} << 45; }

  static constexpr SegmentDescriptor code64(unsigned ring) {
    return {kLimitLow | kLimitHigh | kAccessed | kWritable | kExecutable | kCodeOrData | dpl(ring) |
            kPresent | kLong | kGranularity};
  }
  static constexpr SegmentDescriptor code32(unsigned ring) {
    return {kLimitLow | kLimitHigh | kAccessed | kWritable | kExecutable | kCodeOrData | dpl(ring) |
            kPresent | kDefault32 | kGranularity};
  }
  static constexpr SegmentDescriptor data(unsigned ring) {
    return {kLimitLow | kLimitHigh | kAccessed | kWritable | kCodeOrData | dpl(ring) | kPresent |
            kDefault32 | kGranularity};
  }
  constexpr unsigned ring() const { return static_cast<unsigned>((raw >> 45) & 3); }
  constexpr bool present() const { return (raw & kPresent) != 0; }
  constexpr bool is_long_code() const {
    return (raw & (kExecutable | kLong)) == (kExecutable | kLong);
  }
};

static_assert(SegmentDescriptor::code64(0).raw == 0x00af'9b00'0000'ffff);
static_assert(SegmentDescriptor::data(0).raw == 0x00cf'9300'0000'ffff);
static_assert(SegmentDescriptor::code64(3).raw == 0x00af'fb00'0000'ffff);
static_assert(SegmentDescriptor::data(3).raw == 0x00cf'f300'0000'ffff);

// SDM Vol.3 8.7: the 64-bit TSS. Only RSP0 (stack for entries from ring 3) and the IST stacks
// are used; no I/O bitmap (its offset points past the limit).
struct [[gnu::packed]] Tss {
  u32 reserved0 = 0;
  u64 rsp[3] = {};
  u64 reserved1 = 0;
  u64 ist[7] = {};  // ist[0] is IST1
  u64 reserved2 = 0;
  u16 reserved3 = 0;
  u16 iomap_base = sizeof(Tss) + 0;  // no bitmap: every port access from ring 3 faults
};
static_assert(sizeof(Tss) == 104);

// The 16-byte system descriptor for a 64-bit TSS (type 9 = available 64-bit TSS).
struct TssDescriptor {
  u64 low = 0, high = 0;
  static constexpr TssDescriptor make(u64 base, u32 limit) {
    u64 lo = (limit & 0xffff) | ((base & 0xffffff) << 16) | (u64{0x9} << 40) | (u64{1} << 47) |
             (u64{(limit >> 16) & 0xf} << 48) | (((base >> 24) & 0xff) << 56);
    return {lo, base >> 32};
  }
  constexpr u64 base() const {
    return ((low >> 16) & 0xffffff) | (((low >> 56) & 0xff) << 24) | (high << 32);
  }
  constexpr u32 limit() const {
    return static_cast<u32>((low & 0xffff) | (((low >> 48) & 0xf) << 16));
  }
};
static_assert(TssDescriptor::make(0xffff'8000'1234'5678, 103).base() == 0xffff'8000'1234'5678);
static_assert(TssDescriptor::make(0x1234'5678, 103).limit() == 103);

// SDM Vol.3 6.14.1: a 64-bit interrupt gate (type 0xE: IF cleared on entry) or trap gate (0xF).
struct IdtGate {
  u64 low = 0, high = 0;
  static constexpr u64 kInterruptGate = 0xe, kTrapGate = 0xf;
  static constexpr IdtGate make(u64 handler, u16 selector, unsigned ist, unsigned dpl,
                                u64 type = kInterruptGate) {
    u64 lo = (handler & 0xffff) | (u64{selector} << 16) | (u64{ist & 7} << 32) | (type << 40) |
             (u64{dpl & 3} << 45) | (u64{1} << 47) | (((handler >> 16) & 0xffff) << 48);
    return {lo, handler >> 32};
  }
  constexpr u64 handler() const {
    return (low & 0xffff) | (((low >> 48) & 0xffff) << 16) | (high << 32);
  }
  constexpr unsigned ist() const { return static_cast<unsigned>((low >> 32) & 7); }
  constexpr unsigned dpl() const { return static_cast<unsigned>((low >> 45) & 3); }
  constexpr u16 selector() const { return static_cast<u16>(low >> 16); }
  constexpr bool present() const { return (low >> 47) & 1; }
};
static_assert(IdtGate::make(0xffff'ffff'8010'2030, 0x08, 1, 3).handler() == 0xffff'ffff'8010'2030);

// The operand of LGDT/LIDT.
struct [[gnu::packed]] DescriptorPointer {
  u16 limit;
  u64 base;
};
static_assert(sizeof(DescriptorPointer) == 10);

// Names of the 32 architectural exception vectors (SDM Vol.3 6.3.1).
struct VectorInfo {
  const char* mnemonic;
  const char* name;
  bool has_error_code;
};
inline constexpr VectorInfo kVectors[32] = {
    {"#DE", "divide error", false},
    {"#DB", "debug", false},
    {"NMI", "non-maskable interrupt", false},
    {"#BP", "breakpoint", false},
    {"#OF", "overflow", false},
    {"#BR", "bound range exceeded", false},
    {"#UD", "invalid opcode", false},
    {"#NM", "device not available", false},
    {"#DF", "double fault", true},
    {"#CSO", "coprocessor segment overrun", false},
    {"#TS", "invalid TSS", true},
    {"#NP", "segment not present", true},
    {"#SS", "stack-segment fault", true},
    {"#GP", "general protection", true},
    {"#PF", "page fault", true},
    {"#15", "reserved vector 15", false},
    {"#MF", "x87 floating-point error", false},
    {"#AC", "alignment check", true},
    {"#MC", "machine check", false},
    {"#XM", "SIMD floating-point exception", false},
    {"#VE", "virtualization exception", false},
    {"#CP", "control protection", true},
    {"#22", "reserved vector 22", false},
    {"#23", "reserved vector 23", false},
    {"#24", "reserved vector 24", false},
    {"#25", "reserved vector 25", false},
    {"#26", "reserved vector 26", false},
    {"#27", "reserved vector 27", false},
    {"#HV", "hypervisor injection", false},
    {"#VC", "VMM communication", true},
    {"#SX", "security exception", true},
    {"#31", "reserved vector 31", false},
};

}  // namespace ptb::x86
