// The constants NASM sees (arch/x86/layout.inc, bench/jit.inc) against the C++ definitions they
// repeat (arch/x86/layout.h, arch/x86/descriptors.h, bench/jit.h). Every name in an .inc file must
// be known here and every name known here must be in its .inc file, so a constant added, removed
// or renamed on one side only fails the test.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "arch/x86/descriptors.h"
#include "arch/x86/layout.h"
#include "bench/jit.h"

namespace ptb {
namespace {

struct IncFile {
  std::map<std::string, u64> values;
  std::vector<std::string> errors;  // lines that are neither blank, comment nor `NAME equ VALUE`
};

// NASM numeric constants as these files use them: 0x-prefixed hex, h-suffixed hex, decimal.
bool parse_number(const std::string& s, u64& out) {
  try {
    usize used = 0;
    if (s.size() > 2 && (s[0] == '0') && (s[1] == 'x' || s[1] == 'X')) {
      out = std::stoull(s.substr(2), &used, 16);
      return used == s.size() - 2;
    }
    if (s.size() > 1 && (s.back() == 'h' || s.back() == 'H') &&
        std::isdigit(static_cast<unsigned char>(s[0]))) {
      out = std::stoull(s.substr(0, s.size() - 1), &used, 16);
      return used == s.size() - 1;
    }
    out = std::stoull(s, &used, 10);
    return used == s.size();
  } catch (const std::exception&) {
    return false;
  }
}

IncFile parse_inc(const std::string& text) {
  static const std::regex kEqu(R"(^\s*([A-Za-z_][A-Za-z0-9_]*)\s+[eE][qQ][uU]\s+(\S+)\s*$)");
  IncFile f;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const usize semi = line.find(';');
    if (semi != std::string::npos) line.resize(semi);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::smatch m;
    u64 v = 0;
    if (!std::regex_match(line, m, kEqu) || !parse_number(m[2].str(), v)) {
      f.errors.push_back("line " + std::to_string(number) + ": cannot check '" + line + "'");
      continue;
    }
    if (!f.values.emplace(m[1].str(), v).second)
      f.errors.push_back("line " + std::to_string(number) + ": " + m[1].str() + " defined twice");
  }
  return f;
}

std::string read_source(const char* relative) {
  std::ifstream in(std::string(PTIBENCH_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << relative;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Compares both directions: names the .inc has that C++ lacks, and the reverse.
void expect_same_text(const char* file, const std::string& text,
                      const std::map<std::string, u64>& cpp) {
  const IncFile inc = parse_inc(text);
  for (const std::string& e : inc.errors) ADD_FAILURE() << file << " " << e;
  ASSERT_FALSE(inc.values.empty()) << file << " has no constants";
  for (const auto& [name, value] : inc.values) {
    auto it = cpp.find(name);
    if (it == cpp.end()) {
      ADD_FAILURE() << file << ": " << name << " = " << value
                    << " has no C++ counterpart checked by this test; add it here";
      continue;
    }
    EXPECT_EQ(value, it->second) << file << ": " << name;
  }
  for (const auto& [name, value] : cpp)
    EXPECT_TRUE(inc.values.count(name))
        << file << " lacks " << name << " (C++ value " << value << ")";
}

void expect_same(const char* file, const std::map<std::string, u64>& cpp) {
  expect_same_text(file, read_source(file), cpp);
}

const std::map<std::string, u64> kOnlyA = {{"A", 1}};
const std::map<std::string, u64> kAAndB = {{"A", 1}, {"B", 2}};

TEST(IncParser, OneSidedOrDifferentConstantsFail) {
  expect_same_text("x.inc", "A equ 1\nB equ 0x2\n", kAAndB);  // agreeing: no failure
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "A equ 1\nB equ 2\n", kOnlyA),
                          "B = 2 has no C++ counterpart");
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "A equ 1\n", kAAndB), "x.inc lacks B");
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "A equ 3\n", kOnlyA), "x.inc: A");
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "A equ 1\n%define Z 1\n", kOnlyA),
                          "cannot check");
}

TEST(IncParser, AcceptsTheForms) {
  const IncFile f = parse_inc("; comment\n\nA equ 0x10\nB   EQU 42 ; trailing\r\n  C equ 1fh\n");
  EXPECT_TRUE(f.errors.empty());
  EXPECT_EQ(f.values.at("A"), 16u);
  EXPECT_EQ(f.values.at("B"), 42u);
  EXPECT_EQ(f.values.at("C"), 31u);
}

TEST(IncParser, RejectsWhatItCannotCheck) {
  EXPECT_EQ(parse_inc("%define X 3\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("X equ 1 + 2\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("X equ Y\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("X equ 0xfg\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("X equ 1\nX equ 1\n").errors.size(), 1u);
}

TEST(Layout, IncMatchesCpp) {
  using namespace x86;
  const std::map<std::string, u64> cpp = {
      {"SEL_KERNEL_CODE", sel::kKernelCode},
      {"SEL_KERNEL_DATA", sel::kKernelData},
      {"SEL_USER_CODE32", sel::kUserCode32},
      {"SEL_USER_DATA", sel::kUserData},
      {"SEL_USER_CODE", sel::kUserCode},
      {"SEL_TSS", sel::kTss},
      {"KERNEL_STACK_SIZE", kKernelStackSize},
      {"ENTRY_STACK_SIZE", kEntryStackSize},
      {"IST_STACK_SIZE", kIstStackSize},
      {"PERCPU_KERNEL_CR3", offsetof(PerCpu, kernel_cr3)},
      {"PERCPU_USER_CR3", offsetof(PerCpu, user_cr3)},
      {"PERCPU_PTI", offsetof(PerCpu, pti)},
      {"PERCPU_USER_RSP", offsetof(PerCpu, user_rsp)},
      {"PERCPU_ENTRY_RSP", offsetof(PerCpu, entry_rsp)},
      {"PERCPU_USER_PCID_FLUSH", offsetof(PerCpu, user_pcid_flush)},
      {"PERCPU_SCRATCH", offsetof(PerCpu, scratch)},
      {"PERCPU_KERNEL_RSP", offsetof(PerCpu, kernel_rsp)},
      {"PERCPU_SAVED_RSP", offsetof(PerCpu, saved_rsp)},
      {"TRAPFRAME_VECTOR", offsetof(TrapFrame, vector)},
      {"TRAPFRAME_RIP", offsetof(TrapFrame, rip)},
      {"TRAPFRAME_CS", offsetof(TrapFrame, cs)},
      {"TRAPFRAME_SIZE", sizeof(TrapFrame)},
      {"ERROR_CODE_SIZE", sizeof(TrapFrame::error_code)},
      {"IRET_RIP_ABOVE_ERROR_CODE", offsetof(TrapFrame, rip) - offsetof(TrapFrame, error_code)},
      {"PTI_USER_PGD_BIT", kPtiUserPgdBit},
      {"PTI_USER_PCID_BIT", kPtiUserPcidBit},
      {"PTI_SWITCH_MASK", kPtiSwitchMask},
      {"CR3_NOFLUSH_BIT", kCr3NoflushBit},
      {"VECTOR_SOFT", kVectorSoft},
      {"VECTOR_RING3_EXIT", kVectorRing3Exit},
      {"PF_INSN_LEN", kPfInsnLen},
  };
  expect_same("arch/x86/layout.inc", cpp);
}

TEST(Layout, TrapFrameEndsWithTheCpuFrame) {
  // SDM Vol.3 6.14.2: in 64-bit mode the CPU always pushes SS, RSP, RFLAGS, CS, RIP (and then
  // the error code, if any); the stubs' frame must end with exactly those, in that order.
  using x86::TrapFrame;
  EXPECT_EQ(offsetof(TrapFrame, error_code) + 8, offsetof(TrapFrame, rip));
  EXPECT_EQ(offsetof(TrapFrame, rip) + 8, offsetof(TrapFrame, cs));
  EXPECT_EQ(offsetof(TrapFrame, cs) + 8, offsetof(TrapFrame, rflags));
  EXPECT_EQ(offsetof(TrapFrame, rflags) + 8, offsetof(TrapFrame, rsp));
  EXPECT_EQ(offsetof(TrapFrame, rsp) + 8, offsetof(TrapFrame, ss));
  EXPECT_EQ(offsetof(TrapFrame, ss) + 8, sizeof(TrapFrame));
  EXPECT_EQ(offsetof(TrapFrame, vector) + 8, offsetof(TrapFrame, error_code));
}

TEST(Layout, PtiConstantsAgreeWithTheCr3Layout) {
  // The stubs switch CR3 with these; regs.h's Cr3 is the C++ side (Linux PTI: bit 12 selects the
  // user PGD, bit 11 the user PCID; SDM Vol.3 4.10.4.1: bit 63 is NOFLUSH).
  using namespace x86;
  EXPECT_EQ(kPtiSwitchMask, (u64{1} << kPtiUserPgdBit) | (u64{1} << kPtiUserPcidBit));
  EXPECT_EQ(Cr3{0x2000}.user_half().raw, 0x2000 | kPtiSwitchMask);
  EXPECT_EQ(Cr3{0x2000 | kPtiSwitchMask}.kernel_half().raw, 0x2000u);
  EXPECT_EQ(Cr3{}.with_noflush(true).raw, u64{1} << kCr3NoflushBit);
}

TEST(Layout, SoftwareVectorsAreAboveTheExceptions) {
  // SDM Vol.3 6.2: vectors 0-31 are reserved for exceptions; software interrupts use 32-255.
  using namespace x86;
  EXPECT_GE(kVectorSoft, 32u);
  EXPECT_LE(kVectorSoft, 255u);
  EXPECT_GE(kVectorRing3Exit, 32u);
  EXPECT_LE(kVectorRing3Exit, 255u);
  EXPECT_NE(kVectorSoft, kVectorRing3Exit);
}

TEST(Layout, PfInsnLenIsTheLengthOfMovByteToMemRbx) {
  // SDM Vol.2B MOV: `mov [rbx], al` is 88 /r with ModRM mod=00 reg=000 (AL) rm=011 ([RBX]):
  // two bytes, 88 03, no SIB, no displacement.
  EXPECT_EQ(x86::kPfInsnLen, 2u);
}

TEST(Layout, StackSizesArePageMultiples) {
  using namespace x86;
  EXPECT_EQ(kKernelStackSize % 4096, 0u);
  EXPECT_EQ(kEntryStackSize % 4096, 0u);
  EXPECT_EQ(kIstStackSize % 4096, 0u);
}

TEST(Jit, IncMatchesCpp) {
  using bench::CrossingContext;
  using bench::JitContext;
  const std::map<std::string, u64> cpp = {
      {"JIT_ITERS", offsetof(JitContext, iters)},
      {"JIT_T0", offsetof(JitContext, t0)},
      {"JIT_T1", offsetof(JitContext, t1)},
      {"JIT_RAX", offsetof(JitContext, rax)},
      {"JIT_RBX", offsetof(JitContext, rbx)},
      {"JIT_RCX", offsetof(JitContext, rcx)},
      {"JIT_RDX", offsetof(JitContext, rdx)},
      {"JIT_RSI", offsetof(JitContext, rsi)},
      {"JIT_RDI", offsetof(JitContext, rdi)},
      {"JIT_RBP", offsetof(JitContext, rbp)},
      {"JIT_R8", offsetof(JitContext, r8)},
      {"JIT_R9", offsetof(JitContext, r9)},
      {"JIT_R10", offsetof(JitContext, r10)},
      {"JIT_R11", offsetof(JitContext, r11)},
      {"JIT_R12", offsetof(JitContext, r12)},
      {"JIT_R13", offsetof(JitContext, r13)},
      {"XING_COUNT", offsetof(CrossingContext, count)},
      {"XING_FAULT", offsetof(CrossingContext, fault)},
      {"XING_U2K", offsetof(CrossingContext, u2k)},
      {"XING_K2U", offsetof(CrossingContext, k2u)},
  };
  expect_same("bench/jit.inc", cpp);
  // Every field of both contexts has its name (16 + 4 quadwords).
  EXPECT_EQ(sizeof(JitContext) + sizeof(CrossingContext), cpp.size() * 8);
}

}  // namespace
}  // namespace ptb
