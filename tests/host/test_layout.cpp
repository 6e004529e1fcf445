// The constants NASM sees, as the kernel build generated them (arch_constants.inc and
// bench_constants.inc in the kernel build's generated/ directory, from arch/x86/asm_constants.cpp
// and bench/asm_constants.cpp), against the C++ definitions computed here on the host. Every
// name in a generated file must be expected here and every name expected here must be generated,
// so a constant dropped, renamed or mangled on the way (compiler marker, cmake/asm_constants.cmake)
// fails the test. The generator script itself is run on hand-made input at the end.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "arch/x86/ap_boot.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/descriptors.h"
#include "arch/x86/layout.h"
#include "arch/x86/pti.h"
#include "bench/asid_policy.h"
#include "bench/jit.h"
#include "bench/refill.h"

namespace ptb {
namespace {

struct IncFile {
  std::map<std::string, u64> values;
  std::vector<std::string> errors;  // lines neither blank, comment nor `%define NAME VALUE`
};

// NASM numeric constants: 0x-prefixed hex, h-suffixed hex, decimal (what the generator writes).
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
  static const std::regex kDefine(R"(^\s*%define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(\S+)\s*$)");
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
    if (!std::regex_match(line, m, kDefine) || !parse_number(m[2].str(), v)) {
      f.errors.push_back("line " + std::to_string(number) + ": cannot check '" + line + "'");
      continue;
    }
    if (!f.values.emplace(m[1].str(), v).second)
      f.errors.push_back("line " + std::to_string(number) + ": " + m[1].str() + " defined twice");
  }
  return f;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A generated file of the kernel build; missing means the kernel was not built (cmake --build).
std::string read_generated(const char* name) {
  const std::string path = std::string(PTIBENCH_KERNEL_GENERATED_DIR) + "/" + name;
  std::ifstream probe(path);
  EXPECT_TRUE(probe.good()) << "cannot open " << path << ": build the kernel first";
  return read_file(path);
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
  expect_same_text(file, read_generated(file), cpp);
}

const std::map<std::string, u64> kOnlyA = {{"A", 1}};
const std::map<std::string, u64> kAAndB = {{"A", 1}, {"B", 2}};

TEST(IncParser, OneSidedOrDifferentConstantsFail) {
  expect_same_text("x.inc", "%define A 1\n%define B 0x2\n", kAAndB);  // agreeing: no failure
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "%define A 1\n%define B 2\n", kOnlyA),
                          "B = 2 has no C++ counterpart");
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "%define A 1\n", kAAndB), "x.inc lacks B");
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "%define A 3\n", kOnlyA), "x.inc: A");
  EXPECT_NONFATAL_FAILURE(expect_same_text("x.inc", "%define A 1\nZ equ 1\n", kOnlyA),
                          "cannot check");
  EXPECT_FATAL_FAILURE(expect_same_text("x.inc", "; nothing\n", kOnlyA), "no constants");
}

TEST(IncParser, AcceptsTheForms) {
  const IncFile f =
      parse_inc("; comment\n\n%define A 0x10\n%define   B 42 ; trailing\r\n  %define C 1fh\n");
  EXPECT_TRUE(f.errors.empty());
  EXPECT_EQ(f.values.at("A"), 16u);
  EXPECT_EQ(f.values.at("B"), 42u);
  EXPECT_EQ(f.values.at("C"), 31u);
}

TEST(IncParser, RejectsWhatItCannotCheck) {
  EXPECT_EQ(parse_inc("X equ 3\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("%define X 1 + 2\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("%define X Y\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("%define X 0xfg\n").errors.size(), 1u);
  EXPECT_EQ(parse_inc("%define X 1\n%define X 1\n").errors.size(), 1u);
}

TEST(Layout, GeneratedIncMatchesCpp) {
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
      {"PERCPU_NMI_COUNT", offsetof(PerCpu, nmi_count)},
      {"PERCPU_SELF", offsetof(PerCpu, self)},
      {"AP_PARAMS_OFFSET", kApParamsOffset},
      {"AP_PARAMS_GDTR", offsetof(ApBootParams, gdtr_limit)},
      {"AP_PARAMS_FAR", offsetof(ApBootParams, far_offset)},
      {"AP_PARAMS_CR3", offsetof(ApBootParams, cr3)},
      {"AP_PARAMS_EFER", offsetof(ApBootParams, efer)},
      {"AP_PARAMS_STACK_TOP", offsetof(ApBootParams, stack_top)},
      {"AP_PARAMS_CPU", offsetof(ApBootParams, cpu)},
      {"MSR_X2APIC_EOI", 0x80b},    // SDM Vol.3 Table 11-6
      {"MSR_GS_BASE", 0xc0000101},  // SDM Vol.4 Table 2-2
      {"CR4_PCIDE_BIT", 17},        // SDM Vol.3 2.5
      {"TRAPFRAME_VECTOR", offsetof(TrapFrame, vector)},
      {"TRAPFRAME_RIP", offsetof(TrapFrame, rip)},
      {"TRAPFRAME_CS", offsetof(TrapFrame, cs)},
      {"TRAPFRAME_SIZE", sizeof(TrapFrame)},
      {"TRAPFRAME_VECTOR_TO_CS", offsetof(TrapFrame, cs) - offsetof(TrapFrame, vector)},
      {"TRAPFRAME_VECTOR_TO_RIP", offsetof(TrapFrame, rip) - offsetof(TrapFrame, vector)},
      // SDM Vol.3 6.14.2: in 64-bit mode the error code is pushed as 8 bytes, right below RIP.
      {"ERROR_CODE_SIZE", 8},
      {"IRET_RIP_ABOVE_ERROR_CODE", 8},
      {"PTI_USER_PGD_BIT", kPtiUserPgdBit},
      {"PTI_USER_PCID_BIT", kPtiUserPcidBit},
      {"PTI_SWITCH_MASK", kPtiSwitchMask},
      {"CR3_NOFLUSH_BIT", kCr3NoflushBit},
      {"ENTRY_NONE", static_cast<u64>(EntryScheme::kNone)},
      {"ENTRY_PTI", static_cast<u64>(EntryScheme::kPti)},
      {"ENTRY_PCID", static_cast<u64>(EntryScheme::kPcid)},
      {"ENTRY_PCID_FLUSH", static_cast<u64>(EntryScheme::kPcidFlush)},
      {"BOOT_CR0", kKernelCr0.raw},
      {"BOOT_CR4", kBootCr4.raw},
      {"BOOT_EFER", boot_efer(false).raw},
      {"EFER_NXE", Efer::kNxe},
      {"MSR_EFER", msr::kEfer},
      {"VECTOR_SOFT", kVectorSoft},
      {"VECTOR_RING3_EXIT", kVectorRing3Exit},
      {"PF_INSN_LEN", kPfInsnLen},
  };
  expect_same("arch_constants.inc", cpp);
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

TEST(Layout, TrapStubOffsetsFromTheVectorSlotAreTheCpuFrame) {
  // trap_common tests CS.RPL and drops the vector and error code relative to the vector it
  // pushed: above it the error code, then the CPU's RIP, then CS (SDM Vol.3 6.14.2, Figure 6-9),
  // one quadword each.
  const IncFile inc = parse_inc(read_generated("arch_constants.inc"));
  ASSERT_TRUE(inc.values.count("TRAPFRAME_VECTOR_TO_CS"));
  ASSERT_TRUE(inc.values.count("TRAPFRAME_VECTOR_TO_RIP"));
  EXPECT_EQ(inc.values.at("TRAPFRAME_VECTOR_TO_RIP"), 2u * 8);  // vector, error code
  EXPECT_EQ(inc.values.at("TRAPFRAME_VECTOR_TO_CS"), 3u * 8);   // ..., RIP
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
      {"XING_PMC", offsetof(CrossingContext, pmc)},
      {"TOUCH_PAGE", bench::kTouchPage},
      {"TOUCH_LINE_STRIDE", bench::kTouchLineStride},
      {"ASP_BASE", offsetof(bench::aspace::UserContext, base)},
      {"ASP_PAGES", offsetof(bench::aspace::UserContext, pages)},
      {"ASP_MAGIC", offsetof(bench::aspace::UserContext, magic)},
      {"ASP_CALLS", offsetof(bench::aspace::UserContext, calls)},
      {"ASP_STALE", offsetof(bench::aspace::UserContext, stale)},
      {"ASP_BAD_PAGE", offsetof(bench::aspace::UserContext, bad_page)},
      {"ASP_BAD_VALUE", offsetof(bench::aspace::UserContext, bad_value)},
      {"ASX_DESC", offsetof(bench::aspace::SliceOps, desc)},
      {"ASX_INVPCIDS", offsetof(bench::aspace::SliceOps, invpcids)},
      {"ASX_INVLPG", offsetof(bench::aspace::SliceOps, invlpg)},
      {"ASX_WRITE_CR3", offsetof(bench::aspace::SliceOps, write_cr3)},
      {"ASX_CR3", offsetof(bench::aspace::SliceOps, cr3)},
      {"ASX_USER_RIP", offsetof(bench::aspace::SliceOps, user_rip)},
      {"ASX_USER_RSP", offsetof(bench::aspace::SliceOps, user_rsp)},
      {"ASX_USER_ARG", offsetof(bench::aspace::SliceOps, user_arg)},
      {"ASX_USER_FN", offsetof(bench::aspace::SliceOps, user_fn)},
      {"ASX_T0", offsetof(bench::aspace::SliceOps, t0)},
      {"ASX_T1", offsetof(bench::aspace::SliceOps, t1)},
  };
  expect_same("bench_constants.inc", cpp);
  // Every field of the four contexts has its name (16 + 5 + 7 + 11 quadwords), beside the two
  // refill constants.
  EXPECT_EQ(sizeof(JitContext) + sizeof(CrossingContext) + sizeof(bench::aspace::UserContext) +
                sizeof(bench::aspace::SliceOps),
            (cpp.size() - 2) * 8);
}

// cmake/asm_constants.cmake on hand-made compiler output: markers become %define lines; a bad
// marker, a repeated name or no marker at all stops the build (non-zero exit, no output).
struct Generated {
  int status;
  std::string text;
};
Generated run_generator(const std::string& asm_text) {
  // One pair of files per test and call: ctest runs tests in parallel processes.
  static int calls = 0;
  const std::string stem = testing::TempDir() + "ptb_asm_constants_" +
                           testing::UnitTest::GetInstance()->current_test_info()->name() +
                           std::to_string(calls++);
  const std::string in = stem + ".s", out = stem + ".inc";
  std::ofstream(in, std::ios::binary) << asm_text;
  std::remove(out.c_str());
  const std::string cmd = std::string("\"") + PTIBENCH_CMAKE_COMMAND + "\" -DIN=\"" + in +
                          "\" -DOUT=\"" + out + "\" -DSOURCE=test.cpp -P \"" + PTIBENCH_SOURCE_DIR +
                          "/cmake/asm_constants.cmake\" > /dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  Generated g{status, read_file(out)};
  std::remove(in.c_str());
  std::remove(out.c_str());
  return g;
}

TEST(AsmConstantsScript, TurnsMarkersIntoDefines) {
  const Generated g = run_generator(
      "f:\n#APP\n\n\t.ascii\t\"->PERCPU_PTI 16\"\n#NO_APP\n#APP\n\t.ascii\t\"->BIG "
      "9223372036854775807\"\n\t.ascii \"unrelated\"\n\tretq\n");
  ASSERT_EQ(g.status, 0);
  const IncFile inc = parse_inc(g.text);
  EXPECT_TRUE(inc.errors.empty());
  EXPECT_EQ(inc.values.size(), 2u);
  EXPECT_EQ(inc.values.at("PERCPU_PTI"), 16u);
  EXPECT_EQ(inc.values.at("BIG"), 0x7fff'ffff'ffff'ffffu);
}

TEST(AsmConstantsScript, RejectsWhatItCannotTranslate) {
  for (const char* bad : {
           "\t.ascii\t\"->A 1\"\n\t.ascii\t\"->A 2\"\n",  // a name twice
           "\t.ascii\t\"->A $1\"\n",                      // an immediate with its `$`
           "\t.ascii\t\"->A -1\"\n",                      // negative
           "\t.ascii\t\"->9A 1\"\n",                      // not a NASM identifier
           "\tretq\n",                                    // no markers
       }) {
    SCOPED_TRACE(bad);
    const Generated g = run_generator(bad);
    EXPECT_NE(g.status, 0);
    EXPECT_EQ(g.text, "");
  }
}

}  // namespace
}  // namespace ptb
