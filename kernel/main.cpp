// kmain: from the boot stub's 64-bit entry to the end of the run, in explicit steps.
#include "arch/x86/cpu.h"
#include "arch/x86/cpu_features.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/regs.h"
#include "bench/options.h"
#include "bench/suite.h"
#include "kernel/acpi.h"
#include "kernel/calibration.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/fault_report.h"
#include "kernel/memory.h"
#include "kernel/multiboot2.h"
#include "kernel/options.h"
#include "kernel/platform.h"
#include "kernel/run.h"
#include "kernel/smp.h"
#include "ptibench_version.h"

namespace ptb {
namespace {

mb2::BootInfo boot_info;   // large: keep it off the stack
acpi::Tables acpi_tables;  // likewise
x86::CpuInfo cpu;

x86::CpuidResult cpuid_fn(u32 leaf, u32 subleaf) {
  x86::CpuidRegs r = x86::cpuid(leaf, subleaf);
  return {r.eax, r.ebx, r.ecx, r.edx};
}

// The boot stub identity-maps the first 4 GiB only: a screen above that (a UEFI framebuffer behind
// a large PCI BAR) is reachable once init_paging has mapped it. Returns false when it must wait.
bool screen_reachable_early(const mb2::BootInfo& info) {
  if (!info.has_framebuffer) return true;
  const mb2::Framebuffer& f = info.framebuffer;
  return f.addr + u64{f.pitch} * f.height <= memory::kLowTableLimit;
}

void attach_screen(const mb2::BootInfo& info) {
  if (!info.has_framebuffer) {
    // No framebuffer tag at all: a BIOS boot in text mode is the only plausible screen.
    if (!info.efi) console::attach_vga_text(0xb8000, 80, 25);
    return;
  }
  const mb2::Framebuffer& f = info.framebuffer;
  if (f.type == mb2::kFramebufferEgaText) {
    console::attach_vga_text(f.addr, f.width, f.height);
  } else if (f.type == mb2::kFramebufferRgb) {
    console::FramebufferDesc d{f.addr,       f.pitch,    f.width,    f.height,
                               f.bpp,        f.red_pos,  f.red_size, f.green_pos,
                               f.green_size, f.blue_pos, f.blue_size};
    if (!console::attach_framebuffer(d))
      console::line("warning: screen: framebuffer format not supported; serial only");
  } else {
    console::line("warning: screen: indexed-colour framebuffer not supported; serial only");
  }
}

// ACPI tables are read in place: only where the kernel tables map every page of them.
const u8* mapped_memory(void*, u64 phys, usize len) {
  if (len == 0 || phys + len < phys) return nullptr;
  const x86::PageTable& kt = memory::kernel_tables();
  for (u64 page = phys & ~(x86::kPage - 1); page < phys + len; page += x86::kPage)
    if (!kt.translate(page).present) return nullptr;
  return reinterpret_cast<const u8*>(phys);
}

void read_acpi(const mb2::BootInfo& info) {
  const usize rsdp_len = info.rsdp_version == 2 ? 36 : 20;
  acpi::read_tables(info.rsdp, info.rsdp ? rsdp_len : 0, acpi::MemoryReader{mapped_memory, nullptr},
                    acpi_tables);
  for (usize i = 0; i < acpi_tables.problem_count; ++i) {
    const acpi::Problem& p = acpi_tables.problems[i];
    Text<160> t;
    t.put("warning: acpi: ");
    if (p.table[0]) t.put(p.table).put(": ");
    console::line(t.put(p.what));
  }
}

// The platform (kernel/platform.h) from CPUID and, once the boot information is read, the OEM ID
// of the boot loader's RSDP copy: known before the ACPI tables are, so that a run that ends early
// (help, a bad command line) still reaches the exit port, Bochs' included (it has no CPUID
// signature). `info` nullptr: CPUID alone.
void classify_platform(const mb2::BootInfo* info) {
  char oem[7] = {};
  const bool rsdp = info && info->rsdp;
  if (rsdp) acpi::rsdp_oem(info->rsdp, oem);
  platform::set(platform::classify(cpu.has(x86::Feature::kHypervisor), cpu.hypervisor_vendor,
                                   rsdp ? oem : nullptr));
}

void report_boot_problems(const mb2::BootInfo& info) {
  for (usize i = 0; i < info.problem_count; ++i) {
    Text<200> t;
    t.put("warning: multiboot2: ").put(info.problems[i].what);
    t.put(" (tag ").put(mb2::tag_name(info.problems[i].tag_type)).put(" at offset ");
    t.put_u64(info.problems[i].offset).put(')');
    console::line(t);
  }
  if (info.problems_dropped) {
    Text<80> t;
    t.put("warning: multiboot2: ").put_u64(info.problems_dropped).put(" more problems not shown");
    console::line(t);
  }
}

// CR0 and CR4 as the kernel runs them, written whole (arch/x86/cpu_state.h), and LFENCE made
// dispatch-serialising where the CPU needs telling. Returns how LFENCE is known to order.
x86::Lfence enable_cpu_features(const x86::CpuInfo& cpu) {
  x86::write_cr0(x86::kKernelCr0.raw);
  x86::write_cr4(x86::kernel_cr4(cpu));
  // AMD and Hygon (decoded as AMD, arch/x86/cpu_features.cpp): DE_CFG[1], as Linux does; through
  // the #GP-safe accessors, since a hypervisor may not have the MSR.
  const bool amd_like = cpu.vendor_kind == x86::Vendor::kAmd;
  const bool always =
      amd_like && cpu.max_ext_leaf >= 0x8000'0021 && (x86::cpuid(0x8000'0021).eax & (1u << 2)) != 0;
  x86::MsrRead de_cfg{};
  if (!always && x86::sets_de_cfg(amd_like, cpu.family)) {
    de_cfg = x86::rdmsr_safe(x86::msr::kAmdDeCfg);
    if (de_cfg.ok && !(de_cfg.value & 2) && x86::wrmsr_safe(x86::msr::kAmdDeCfg, de_cfg.value | 2))
      de_cfg = x86::rdmsr_safe(x86::msr::kAmdDeCfg);
  }
  return x86::lfence_ordering(cpu.vendor_kind, amd_like, always, de_cfg.ok, de_cfg.value);
}

}  // namespace
}  // namespace ptb

extern "C" [[noreturn]] void kmain(ptb::u32 magic, ptb::u64 info_addr) {
  using namespace ptb;
  console::init_serial();
  run::set_phase("boot");
  // CPUID first: it tells QEMU (TCG) apart, so even an early failure reaches its exit port.
  cpu = x86::decode_cpu(cpuid_fn);
  classify_platform(nullptr);
  x86::init_descriptors();
  install_fault_report();

  // Find the screen first, so that everything from the banner on shows there too.
  bool info_ok = false;
  if (magic == mb2::kBootMagic) {
    // The info's first word is its size; read no further than that (and at most 1 MiB).
    u32 claimed = info_addr ? *reinterpret_cast<const volatile u32*>(info_addr) : 0;
    usize readable = claimed < (1u << 20) ? claimed : (1u << 20);
    info_ok = mb2::parse(reinterpret_cast<const u8*>(info_addr), readable, boot_info);
    if (info_ok && screen_reachable_early(boot_info)) attach_screen(boot_info);
  }
  console::line("");
  console::line("ptibench " PTIBENCH_VERSION ": PTI, PCID and TLB microbenchmarks on bare metal");
  if (magic != mb2::kBootMagic) {
    Text<160> t;
    t.put("not started by a multiboot2 loader (EAX = ").put_hex(magic).put(", expected ");
    t.put_hex(mb2::kBootMagic).put(")");
    run::fail(t.c_str());
  }
  report_boot_problems(boot_info);
  if (!info_ok) run::fail("the multiboot2 boot information is unusable");
  classify_platform(&boot_info);

  usize bench_option_count = 0;
  const cmdline::Option* bench_options = bench::option_table(&bench_option_count);
  if (boot_info.cmdline)
    parse_options(boot_info.cmdline, boot_info.cmdline_len, bench_options, bench_option_count);
  const Options& opt = options();
  console::set_machine_lines_on_screen(opt.screen_all);
  if (opt.help) {
    print_options_help(bench_options, bench_option_count);
    run::finish();
  }
  bench::parse_touch_option();
  bench::parse_shootdown_pages_option();

  run::set_phase("memory");
  if (boot_info.memory_count == 0) run::fail("the boot loader gave no memory map");
  memory::init_frames(boot_info, info_addr, boot_info.total_size);
  const mb2::Framebuffer& fb = boot_info.framebuffer;
  const bool rgb = boot_info.has_framebuffer && fb.type == mb2::kFramebufferRgb;
  memory::init_paging(rgb ? fb.addr : 0, rgb ? fb.addr + u64{fb.pitch} * fb.height : 0,
                      cpu.has(x86::Feature::kNx), cpu.has(x86::Feature::kPat));
  if (!screen_reachable_early(boot_info)) attach_screen(boot_info);
  const x86::Lfence lfence = enable_cpu_features(cpu);
  run::set_phase("acpi");
  read_acpi(boot_info);
  run::set_phase("clock");
  const calibration::Verdict tsc = clock::calibrate_tsc(cpu, acpi_tables, options().tsc_hz);
  run::set_phase("smp");
  smp::init(acpi_tables.madt, boot_info, info_addr, boot_info.total_size, tsc.hz, options().cpus);

  bench::SuiteContext ctx{cpu,
                          boot_info.efi ? "uefi" : "bios",
                          boot_info.cmdline,
                          boot_info.cmdline_len,
                          acpi_tables,
                          tsc,
                          lfence};
  bench::print_environment(ctx);
  bench::run_suite(ctx);
  run::finish();
}
