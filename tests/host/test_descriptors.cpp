// Segment descriptors, the 64-bit TSS and IDT gates (arch/x86/descriptors.h) against layouts
// decoded by hand from the SDM figures cited below. The decoders in this file are written from
// the figures, independently of the encoders under test.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "arch/x86/descriptors.h"

namespace ptb::x86 {
namespace {

u64 field(u64 v, unsigned hi, unsigned lo) { return (v >> lo) & ((u64{1} << (hi - lo + 1)) - 1); }

// SDM Vol.3 3.4.5, Figure 3-8 (segment descriptor), as bit positions in the 64-bit value.
struct DecodedSegment {
  u64 limit, base;
  unsigned type, s, dpl, p, avl, l, db, g;
};
DecodedSegment decode_segment(u64 d) {
  return {field(d, 15, 0) | (field(d, 51, 48) << 16), field(d, 39, 16) | (field(d, 63, 56) << 24),
          static_cast<unsigned>(field(d, 43, 40)),    static_cast<unsigned>(field(d, 44, 44)),
          static_cast<unsigned>(field(d, 46, 45)),    static_cast<unsigned>(field(d, 47, 47)),
          static_cast<unsigned>(field(d, 52, 52)),    static_cast<unsigned>(field(d, 53, 53)),
          static_cast<unsigned>(field(d, 54, 54)),    static_cast<unsigned>(field(d, 55, 55))};
}

// SDM Vol.3 3.4.5.1, Table 3-1: type bit 3 = code, for code bit 1 = readable, for data bit 1 =
// writable, bit 0 = accessed.
constexpr unsigned kTypeCodeReadAccessed = 0xb, kTypeDataWriteAccessed = 0x3;

TEST(SegmentDescriptor, Code64Ring0MatchesSdmLayout) {
  const DecodedSegment d = decode_segment(SegmentDescriptor::code64(0).raw);
  EXPECT_EQ(d.type, kTypeCodeReadAccessed);
  EXPECT_EQ(d.s, 1u);  // code or data, not system
  EXPECT_EQ(d.dpl, 0u);
  EXPECT_EQ(d.p, 1u);
  EXPECT_EQ(d.l, 1u);
  // SDM Vol.3 5.2.1: with L = 1, D must be 0 (L = D = 1 is reserved and faults on load).
  EXPECT_EQ(d.db, 0u);
  EXPECT_EQ(d.g, 1u);
  EXPECT_EQ(d.limit, 0xfffffu);
  EXPECT_EQ(d.base, 0u);
  EXPECT_EQ(d.avl, 0u);
}

TEST(SegmentDescriptor, Code64Ring3DiffersOnlyInDpl) {
  const DecodedSegment d = decode_segment(SegmentDescriptor::code64(3).raw);
  EXPECT_EQ(d.type, kTypeCodeReadAccessed);
  EXPECT_EQ(d.s, 1u);
  EXPECT_EQ(d.dpl, 3u);
  EXPECT_EQ(d.p, 1u);
  EXPECT_EQ(d.l, 1u);
  EXPECT_EQ(d.db, 0u);
  EXPECT_EQ(SegmentDescriptor::code64(3).raw ^ SegmentDescriptor::code64(0).raw, u64{3} << 45);
}

TEST(SegmentDescriptor, DataRing0And3) {
  for (unsigned ring : {0u, 3u}) {
    SCOPED_TRACE(ring);
    const DecodedSegment d = decode_segment(SegmentDescriptor::data(ring).raw);
    EXPECT_EQ(d.type, kTypeDataWriteAccessed);
    EXPECT_EQ(d.s, 1u);
    EXPECT_EQ(d.dpl, ring);
    EXPECT_EQ(d.p, 1u);
    EXPECT_EQ(d.l, 0u);  // L is only defined for code segments
    EXPECT_EQ(d.db, 1u);
    EXPECT_EQ(d.g, 1u);
    EXPECT_EQ(d.limit, 0xfffffu);
    EXPECT_EQ(d.base, 0u);
  }
}

TEST(SegmentDescriptor, Code32IsCompatibilityModeCode) {
  for (unsigned ring : {0u, 3u}) {
    SCOPED_TRACE(ring);
    const DecodedSegment d = decode_segment(SegmentDescriptor::code32(ring).raw);
    EXPECT_EQ(d.type, kTypeCodeReadAccessed);
    EXPECT_EQ(d.s, 1u);
    EXPECT_EQ(d.dpl, ring);
    EXPECT_EQ(d.p, 1u);
    EXPECT_EQ(d.l, 0u);
    EXPECT_EQ(d.db, 1u);  // 32-bit default operand size
    EXPECT_EQ(d.g, 1u);
    EXPECT_EQ(d.limit, 0xfffffu);
  }
  EXPECT_EQ(SegmentDescriptor::code32(0).raw, 0x00cf'9b00'0000'ffffu);
  EXPECT_EQ(SegmentDescriptor::code32(3).raw, 0x00cf'fb00'0000'ffffu);
}

TEST(SegmentDescriptor, NamedBitsSitWhereTheSdmPutsThem) {
  EXPECT_EQ(SegmentDescriptor::kAccessed, u64{1} << 40);
  EXPECT_EQ(SegmentDescriptor::kExecutable, u64{1} << 43);
  EXPECT_EQ(SegmentDescriptor::kCodeOrData, u64{1} << 44);
  EXPECT_EQ(SegmentDescriptor::kPresent, u64{1} << 47);
  EXPECT_EQ(SegmentDescriptor::kLong, u64{1} << 53);
  EXPECT_EQ(SegmentDescriptor::kDefault32, u64{1} << 54);
  EXPECT_EQ(SegmentDescriptor::kGranularity, u64{1} << 55);
  for (unsigned ring = 0; ring < 4; ++ring)
    EXPECT_EQ(SegmentDescriptor::dpl(ring), u64{ring} << 45);
  EXPECT_EQ(SegmentDescriptor::dpl(7), u64{3} << 45);  // never spills into P
}

TEST(SegmentDescriptor, AccessorsReadBack) {
  for (unsigned ring = 0; ring < 4; ++ring) {
    EXPECT_EQ(SegmentDescriptor::code64(ring).ring(), ring);
    EXPECT_EQ(SegmentDescriptor::data(ring).ring(), ring);
    EXPECT_TRUE(SegmentDescriptor::code64(ring).present());
    EXPECT_TRUE(SegmentDescriptor::code64(ring).is_long_code());
    EXPECT_FALSE(SegmentDescriptor::code32(ring).is_long_code());
    EXPECT_FALSE(SegmentDescriptor::data(ring).is_long_code());
  }
  EXPECT_FALSE(SegmentDescriptor{}.present());
}

// SDM Vol.3 8.2.3, Figure 8-4: the 16-byte TSS descriptor in 64-bit mode. Low 8 bytes as a
// segment descriptor (type 9 = available 64-bit TSS, Table 3-2; S = 0), bits 95:64 = base 63:32,
// bits 127:96 reserved, bits 108:104 (the upper "type") must be zero.
TEST(TssDescriptor, TypeIsAvailable64BitTssAndPresent) {
  const TssDescriptor t = TssDescriptor::make(0xffff'8000'0010'2000, sizeof(Tss) - 1);
  const DecodedSegment d = decode_segment(t.low);
  EXPECT_EQ(d.type, 9u);
  EXPECT_EQ(d.s, 0u);
  EXPECT_EQ(d.dpl, 0u);
  EXPECT_EQ(d.p, 1u);
  EXPECT_EQ(d.g, 0u);  // byte granularity: limit 103 means 104 bytes
  EXPECT_EQ(d.l, 0u);
  EXPECT_EQ(d.limit, 103u);
  EXPECT_EQ(field(t.high, 63, 32), 0u);
  EXPECT_EQ(field(t.high, 12, 8), 0u);
}

TEST(TssDescriptor, BaseSplitsAcrossThreeFields) {
  const TssDescriptor t = TssDescriptor::make(0x1122'3344'5566'7788, 0xabcde);
  EXPECT_EQ(field(t.low, 39, 16), 0x667788u);  // base 23:0
  EXPECT_EQ(field(t.low, 63, 56), 0x55u);      // base 31:24
  EXPECT_EQ(t.high, 0x1122'3344u);             // base 63:32
  EXPECT_EQ(field(t.low, 15, 0), 0xbcdeu);     // limit 15:0
  EXPECT_EQ(field(t.low, 51, 48), 0xau);       // limit 19:16
}

TEST(TssDescriptor, BaseAndLimitRoundTripForManyBases) {
  std::mt19937_64 rng(7);
  std::vector<u64> bases = {0,
                            0x1000,
                            0xff'ffff,
                            0x100'0000,
                            0xffff'ffff,
                            0x1'0000'0000,          // 4 GiB
                            0x2'3456'7000,          // above 4 GiB
                            0x7fff'ffff'ffff'f000,  // top of the lower half (non-canonical too)
                            0xffff'8000'0000'0000,
                            0xffff'ffff'8000'0000,
                            0xffff'ffff'ffff'ff98};
  for (int i = 0; i < 5000; ++i) bases.push_back(rng());
  for (u64 base : bases) {
    const u32 limit = static_cast<u32>(rng() & 0xfffff);
    const TssDescriptor t = TssDescriptor::make(base, limit);
    ASSERT_EQ(t.base(), base) << std::hex << base;
    ASSERT_EQ(t.limit(), limit);
    ASSERT_EQ(decode_segment(t.low).type, 9u);
    ASSERT_EQ(decode_segment(t.low).p, 1u);
    ASSERT_EQ(decode_segment(t.low).base | (t.high << 32), base);
  }
}

TEST(TssDescriptor, LimitAbove20BitsIsTruncatedNotSpilled) {
  const TssDescriptor t = TssDescriptor::make(0, 0xfff'ffff);
  EXPECT_EQ(t.limit(), 0xfffffu);
  EXPECT_EQ(decode_segment(t.low).g, 0u);
  EXPECT_EQ(decode_segment(t.low).avl, 0u);
  EXPECT_EQ(decode_segment(t.low).l, 0u);
}

// SDM Vol.3 8.7, Figure 8-11: the 64-bit TSS.
TEST(Tss, LayoutMatchesSdmFigure) {
  EXPECT_EQ(offsetof(Tss, rsp), 4u);  // RSP0
  EXPECT_EQ(offsetof(Tss, rsp) + 8, 12u);
  EXPECT_EQ(offsetof(Tss, rsp) + 16, 20u);     // RSP2
  EXPECT_EQ(offsetof(Tss, ist), 36u);          // IST1
  EXPECT_EQ(offsetof(Tss, ist) + 6 * 8, 84u);  // IST7
  EXPECT_EQ(offsetof(Tss, iomap_base), 102u);
}

TEST(Tss, FieldsLandAtTheirByteOffsets) {
  Tss t;
  t.rsp[0] = 0x1111'2222'3333'4444;
  t.ist[0] = 0x5555'6666'7777'8888;
  t.ist[6] = 0x9999'aaaa'bbbb'cccc;
  unsigned char bytes[sizeof(Tss)];
  std::memcpy(bytes, &t, sizeof bytes);
  u64 v;
  std::memcpy(&v, bytes + 4, 8);
  EXPECT_EQ(v, 0x1111'2222'3333'4444u);
  std::memcpy(&v, bytes + 36, 8);
  EXPECT_EQ(v, 0x5555'6666'7777'8888u);
  std::memcpy(&v, bytes + 84, 8);
  EXPECT_EQ(v, 0x9999'aaaa'bbbb'ccccu);
  u16 io;
  std::memcpy(&io, bytes + 102, 2);
  EXPECT_EQ(io, 104u);
}

TEST(Tss, NoIoBitmapByDefault) {
  // SDM Vol.1 19.5.2 (I/O permission bit map): a base at or beyond the TSS limit means no bitmap,
  // so every ring-3 port access faults. The limit programmed is sizeof(Tss) - 1.
  const Tss t;
  const usize iomap_base = t.iomap_base;  // copied: a packed field can't bind to a reference
  EXPECT_GE(iomap_base, sizeof(Tss) - 1);
}

// SDM Vol.3 6.14.1, Figure 6-8: the 64-bit IDT gate.
struct DecodedGate {
  u64 offset;
  unsigned selector, ist, zero39_35, type, zero44, dpl, p;
  u64 reserved_high;
};
DecodedGate decode_gate(const IdtGate& g) {
  return {field(g.low, 15, 0) | (field(g.low, 63, 48) << 16) | (field(g.high, 31, 0) << 32),
          static_cast<unsigned>(field(g.low, 31, 16)),
          static_cast<unsigned>(field(g.low, 34, 32)),
          static_cast<unsigned>(field(g.low, 39, 35)),
          static_cast<unsigned>(field(g.low, 43, 40)),
          static_cast<unsigned>(field(g.low, 44, 44)),
          static_cast<unsigned>(field(g.low, 46, 45)),
          static_cast<unsigned>(field(g.low, 47, 47)),
          field(g.high, 63, 32)};
}

TEST(IdtGate, InterruptGateMatchesSdmLayout) {
  const IdtGate g = IdtGate::make(0xffff'ffff'8010'2030, sel::kKernelCode, 1, 0);
  const DecodedGate d = decode_gate(g);
  EXPECT_EQ(d.offset, 0xffff'ffff'8010'2030u);
  EXPECT_EQ(field(g.low, 15, 0), 0x2030u);
  EXPECT_EQ(field(g.low, 63, 48), 0x8010u);
  EXPECT_EQ(g.high, 0xffff'ffffu);
  EXPECT_EQ(d.selector, 0x08u);
  EXPECT_EQ(d.ist, 1u);
  EXPECT_EQ(d.zero39_35, 0u);
  EXPECT_EQ(d.type, 0xeu);  // SDM Vol.3 Table 3-2: 64-bit interrupt gate
  EXPECT_EQ(d.zero44, 0u);
  EXPECT_EQ(d.dpl, 0u);
  EXPECT_EQ(d.p, 1u);
  EXPECT_EQ(d.reserved_high, 0u);
  EXPECT_EQ(g.low, 0x8010'8e01'0008'2030u);
}

TEST(IdtGate, TrapGateAndUserDpl) {
  const IdtGate g = IdtGate::make(0x10'0000, sel::kKernelCode, 0, 3, IdtGate::kTrapGate);
  const DecodedGate d = decode_gate(g);
  EXPECT_EQ(d.type, 0xfu);  // SDM Vol.3 Table 3-2: 64-bit trap gate
  EXPECT_EQ(d.dpl, 3u);     // int3 / int N from ring 3 allowed
  EXPECT_EQ(d.ist, 0u);     // IST 0 = no stack switch unless the privilege level changes
  EXPECT_EQ(g.low, 0x0010'ef00'0008'0000u);
}

TEST(IdtGate, IstAndDplDoNotSpill) {
  const DecodedGate d = decode_gate(IdtGate::make(0, 0x08, 0xff, 0xff));
  EXPECT_EQ(d.ist, 7u);
  EXPECT_EQ(d.zero39_35, 0u);
  EXPECT_EQ(d.dpl, 3u);
  EXPECT_EQ(d.type, 0xeu);
  EXPECT_EQ(d.zero44, 0u);
}

TEST(IdtGate, PropertyRandomHandlersRoundTrip) {
  std::mt19937_64 rng(2024);
  for (int i = 0; i < 20000; ++i) {
    const u64 handler = rng();
    const u16 selector = static_cast<u16>(rng());
    const unsigned ist = static_cast<unsigned>(rng() % 8), dpl = static_cast<unsigned>(rng() % 4);
    const u64 type = (rng() & 1) ? IdtGate::kTrapGate : IdtGate::kInterruptGate;
    const IdtGate g = IdtGate::make(handler, selector, ist, dpl, type);
    const DecodedGate d = decode_gate(g);
    ASSERT_EQ(d.offset, handler);
    ASSERT_EQ(g.handler(), handler);
    ASSERT_EQ(d.selector, selector);
    ASSERT_EQ(g.selector(), selector);
    ASSERT_EQ(d.ist, ist);
    ASSERT_EQ(g.ist(), ist);
    ASSERT_EQ(d.dpl, dpl);
    ASSERT_EQ(g.dpl(), dpl);
    ASSERT_EQ(d.type, type);
    ASSERT_EQ(d.p, 1u);
    ASSERT_TRUE(g.present());
    ASSERT_EQ(d.zero39_35, 0u);
    ASSERT_EQ(d.zero44, 0u);
    ASSERT_EQ(d.reserved_high, 0u);
  }
}

TEST(IdtGate, DefaultIsNotPresent) { EXPECT_FALSE(IdtGate{}.present()); }

TEST(DescriptorPointer, IsTenPackedBytes) {
  // SDM Vol.3 3.5.1 / LGDT: a 16-bit limit followed by a 64-bit base.
  EXPECT_EQ(offsetof(DescriptorPointer, base), 2u);
}

// SDM Vol.3 5.8.8: SYSRET to 64-bit mode loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8,
// so user code must be 16 bytes, and user data 8 bytes, above the SYSRET base slot; SYSCALL
// loads SS = CS + 8.
TEST(Selectors, OrderRequiredBySyscallAndSysret) {
  EXPECT_EQ(sel::kNull, 0u);
  EXPECT_EQ(sel::kKernelData, sel::kKernelCode + 8);
  EXPECT_EQ(sel::kUserData, sel::kUserCode32 + 8);
  EXPECT_EQ(sel::kUserCode, sel::kUserCode32 + 16);
  EXPECT_EQ(sel::kRpl3, 3u);
}

TEST(Selectors, AreGdtIndicesWithRpl0AndTheTssFits) {
  // SDM Vol.3 3.4.2: selector = index * 8 | TI (bit 2) | RPL (bits 1:0).
  const u16 all[] = {sel::kKernelCode, sel::kKernelData, sel::kUserCode32,
                     sel::kUserData,   sel::kUserCode,   sel::kTss};
  std::set<u16> seen;
  for (u16 s : all) {
    EXPECT_EQ(s & 7, 0) << s;
    EXPECT_NE(s, 0);
    EXPECT_TRUE(seen.insert(s).second) << s;
  }
  // The TSS descriptor takes two slots; both must be inside the GDT.
  EXPECT_LE(sel::kTss / 8 + 2, sel::kGdtEntries);
}

// SDM Vol.3 6.3.1, Table 6-1; AMD APM Vol.2 8.2, Table 8-1 for #HV (28), #VC (29), #SX (30).
TEST(Vectors, ErrorCodeVectorsAreExactlyTheArchitecturalOnes) {
  const std::set<int> with_error = {8, 10, 11, 12, 13, 14, 17, 21, 29, 30};
  for (int v = 0; v < 32; ++v) {
    EXPECT_EQ(kVectors[v].has_error_code, with_error.count(v) == 1) << "vector " << v;
  }
}

TEST(Vectors, MnemonicsMatchTable) {
  const char* expected[32] = {"#DE",   "#DB",   "NMI",   "#BP",   "#OF", "#BR", "#UD",   "#NM",
                              "#DF",   nullptr, "#TS",   "#NP",   "#SS", "#GP", "#PF",   nullptr,
                              "#MF",   "#AC",   "#MC",   "#XM",   "#VE", "#CP", nullptr, nullptr,
                              nullptr, nullptr, nullptr, nullptr, "#HV", "#VC", "#SX",   nullptr};
  std::set<std::string> names;
  for (int v = 0; v < 32; ++v) {
    ASSERT_NE(kVectors[v].mnemonic, nullptr);
    ASSERT_NE(kVectors[v].name, nullptr);
    EXPECT_GT(std::string(kVectors[v].name).size(), 0u);
    if (expected[v]) {
      EXPECT_STREQ(kVectors[v].mnemonic, expected[v]) << "vector " << v;
    }
    EXPECT_TRUE(names.insert(kVectors[v].mnemonic).second) << "duplicate mnemonic at " << v;
  }
  EXPECT_EQ(sizeof(kVectors) / sizeof(kVectors[0]), 32u);
}

}  // namespace
}  // namespace ptb::x86
