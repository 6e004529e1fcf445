#include "kernel/smp.h"

#include "arch/x86/ap_boot.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/local_apic.h"
#include "kernel/console.h"
#include "kernel/memory.h"
#include "kernel/smp_plan.h"
#include "lib/atomic.h"

extern "C" const ptb::u8 ap_trampoline_start[], ap_trampoline_end[];
extern "C" const ptb::u8 ap_long_mode[], ipi_wake_stub[], ipi_ping_stub[], ipi_call_stub[],
    apic_spurious_stub[];

namespace ptb::smp {
namespace {

using x86::apic::Icr;

struct alignas(64) Mailbox {
  u64 posted;    // work items posted so far (the boot CPU writes)
  u64 finished;  // of those, finished (the AP writes)
  Work work;
  void* arg;
  u32 apic_id;
  u32 online;  // the AP writes 1 once it runs on its own descriptors
  x86::CpuArea* area;
};

Mailbox boxes[kMaxCpus];
Summary sum{1, 1, 1, 0, x86::apic::Mode::kNone};
u64 rate = 0;

// What an AP copies from the boot CPU (written before its STARTUP, read in ap_main).
struct BootState {
  u64 cr4, efer, pat;
  bool has_pat;
} boot_state;

void delay_us(u64 us) {
  const u64 end = x86::rdtsc_ordered() + rate / 1'000'000 * us;
  while (x86::rdtsc_ordered() < end) x86::pause();
}

// The trampoline page must be executable for the one far jump fetched from it after paging is on
// (arch/x86/ap_boot.asm); it is NX again once the APs are up.
void set_trampoline_executable(u64 page, bool exec) {
  u64* pte = memory::kernel_tables().entry(page, 1);
  if (!pte) return;
  *pte = exec ? *pte & ~x86::Pte::kNoExecute : *pte | memory::nx_bit();
  x86::invlpg(reinterpret_cast<void*>(page));
}

void warn(const char* what, u32 apic_id) {
  Text<160> t;
  t.put("warning: smp: CPU with APIC ID ").put_u64(apic_id).put(' ').put(what);
  console::line(t);
}

// Sends INIT-SIPI-SIPI (SDM Vol.3 9.4.4.1) and waits for the AP to report; true when it did.
bool start_ap(u32 index, u32 apic_id, u64 trampoline) {
  x86::CpuArea* area = boxes[index].area;
  auto* params = reinterpret_cast<x86::ApBootParams*>(trampoline + x86::kApParamsOffset);
  *params = {};
  params->gdt[x86::sel::kKernelCode / 8] = x86::SegmentDescriptor::code64(0).raw;
  params->gdt[x86::sel::kKernelData / 8] = x86::SegmentDescriptor::data(0).raw;
  params->gdtr_limit = sizeof(params->gdt) - 1;
  params->gdtr_base = reinterpret_cast<u64>(params->gdt);
  params->far_offset = static_cast<u32>(reinterpret_cast<u64>(ap_long_mode));
  params->far_selector = x86::sel::kKernelCode;
  params->cr3 = static_cast<u32>(memory::kernel_cr3().raw);
  params->efer = static_cast<u32>(x86::boot_efer((boot_state.efer & x86::Efer::kNxe) != 0).raw);
  params->stack_top = reinterpret_cast<u64>(area->stack) + x86::kApStackSize;
  params->cpu = index;
  x86::mfence();

  x86::apic::send(Icr::init(apic_id));
  delay_us(x86::apic::kInitDelayUs);
  for (int i = 0; i < 2; ++i) {
    x86::apic::send(Icr::startup(apic_id, trampoline));
    delay_us(x86::apic::kStartupDelayUs);
  }
  const Mailbox& box = boxes[index];
  if (await(ticks_for_ms(x86::apic::kApStartTimeoutMs), [&] { return load_acquire(box.online); }))
    return true;
  x86::apic::send(Icr::init(apic_id));  // back to wait-for-SIPI: it must not start later
  return false;
}

[[noreturn]] void idle(Mailbox& box) {
  u64 seen = 0;
  for (;;) {
    const u64 posted = load_acquire(box.posted);
    if (posted != seen) {
      seen = posted;
      box.work(box.arg);
      store_release(box.finished, posted);
      x86::apic::send(Icr::fixed(x86::kVectorWake, boxes[0].apic_id));
      continue;
    }
    x86::sti_hlt_cli();  // the wake-up IPI, or a ping (answered by its handler), ends the HLT
  }
}

}  // namespace

void init(const acpi::Madt& madt, const mb2::BootInfo& info, u64 info_addr, u64 info_size,
          u64 tsc_hz, u64 wanted) {
  rate = tsc_hz ? tsc_hz : u64{10'000'000'000};  // unknown: time as if 10 GHz (delays only longer)
  sum.mode = x86::apic::probe();
  if (sum.mode == x86::apic::Mode::kNone) {
    console::line("smp: no local APIC (CPUID.01H:EDX[9]); one CPU");
    return;
  }
  if (sum.mode == x86::apic::Mode::kXapic && !memory::make_uncached(x86::apic::mmio_base())) {
    console::line("warning: smp: the xAPIC's registers are not mapped; one CPU");
    sum.mode = x86::apic::Mode::kNone;
    return;
  }
  // The legacy PIC masked: interrupts are enabled while CPUs wait, and nothing but IPIs may come.
  x86::outb(0x21, 0xff);
  x86::outb(0xa1, 0xff);
  x86::set_gate(x86::kVectorWake, reinterpret_cast<u64>(ipi_wake_stub), 0);
  x86::set_gate(x86::kVectorPing, reinterpret_cast<u64>(ipi_ping_stub), 0);
  x86::set_gate(x86::kVectorCall, reinterpret_cast<u64>(ipi_call_stub), 0);
  x86::set_gate(x86::kVectorSpurious, reinterpret_cast<u64>(apic_spurious_stub), 0);
  x86::apic::enable_this_cpu(x86::kVectorSpurious, false);  // LINT1 as firmware set it
  boxes[0].apic_id = x86::apic::this_cpu_id();
  boxes[0].online = 1;

  const Plan plan = plan_cpus(madt, boxes[0].apic_id, sum.mode);
  sum.found = static_cast<u32>(plan.found);
  if (plan.unreachable) {
    Text<120> t;
    t.put("warning: smp: ").put_u64(plan.unreachable).put(" CPUs have APIC IDs xAPIC cannot name");
    console::line(t);
  }
  if (plan.beyond) {
    Text<120> t;
    t.put("warning: smp: ").put_u64(plan.beyond).put(" CPUs beyond the ").put_u64(kMaxCpus);
    console::line(t.put(" supported left halted"));
  }

  u64 trampoline = 0;
  if (plan.ap_count) {
    PhysRange avoid[1 + mb2::kMaxModules];
    usize n = 0;
    avoid[n++] = {info_addr, info_addr + info_size};
    for (usize i = 0; i < info.module_count; ++i)
      avoid[n++] = {info.modules[i].start, info.modules[i].end};
    trampoline = choose_trampoline(info.memory, info.memory_count, avoid, n);
    if (!trampoline || !x86::apic::valid_trampoline(trampoline))
      console::line("warning: smp: no free 4 KiB frame below 1 MiB for the AP trampoline; one CPU");
  }
  if (trampoline) {
    boot_state = {x86::read_cr4().raw, x86::rdmsr(x86::msr::kEfer), 0, false};
    const x86::MsrRead pat = x86::rdmsr_safe(x86::msr::kPat);
    boot_state.pat = pat.value;
    boot_state.has_pat = pat.ok;
    set_trampoline_executable(trampoline, true);
    const usize len = static_cast<usize>(ap_trampoline_end - ap_trampoline_start);
    for (usize i = 0; i < len; ++i) reinterpret_cast<u8*>(trampoline)[i] = ap_trampoline_start[i];
    constexpr usize kAreaFrames = (sizeof(x86::CpuArea) + 4095) / 4096;
    for (usize i = 0; i < plan.ap_count; ++i) {
      const u32 index = sum.started;
      const u64 frames =
          memory::frames().alloc_contiguous(kAreaFrames, 4096, memory::kLowTableLimit);
      if (!frames) {
        warn("not started: out of memory for its stacks", plan.ap_ids[i]);
        break;
      }
      for (usize b = 0; b < kAreaFrames * 4096; ++b) reinterpret_cast<u8*>(frames)[b] = 0;
      boxes[index] = {};
      boxes[index].apic_id = plan.ap_ids[i];
      boxes[index].area = reinterpret_cast<x86::CpuArea*>(frames);
      if (start_ap(index, plan.ap_ids[i], trampoline)) {
        ++sum.started;
      } else {
        ++sum.failed;
        Text<80> t;
        t.put("did not start within ").put_u64(x86::apic::kApStartTimeoutMs).put(" ms; left out");
        warn(t.c_str(), plan.ap_ids[i]);
      }
    }
    set_trampoline_executable(trampoline, false);
  }
  sum.used = wanted == 0 || wanted > sum.started ? sum.started : static_cast<u32>(wanted);
  Text<160> t;
  t.put("smp: ").put_u64(sum.found).put(" CPUs found, ").put_u64(sum.started).put(" started, ");
  t.put_u64(sum.used).put(" used (").put(x86::apic::mode_name(sum.mode)).put(')');
  console::line(t);
}

const Summary& summary() { return sum; }
u32 used() { return sum.used; }
u32 apic_id(u32 cpu) { return boxes[cpu].apic_id; }
x86::Range entry_part(u32 cpu) {
  if (cpu == 0 || cpu >= sum.started || boxes[cpu].area == nullptr) return {0, 0};
  return x86::entry_part(*boxes[cpu].area);
}
u64 tsc_hz() { return rate; }
u64 ticks_for_ms(u64 ms) { return rate / 1000 * ms; }
u64 ticks_now() { return x86::rdtsc_ordered(); }
void relax() { x86::pause(); }

u64 nmis() {
  u64 n = load_acquire(x86::percpu().nmi_count);
  for (u32 i = 1; i < sum.started; ++i) n += load_acquire(boxes[i].area->percpu.nmi_count);
  return n;
}

void post(u32 cpu, Work work, void* arg) {
  Mailbox& box = boxes[cpu];
  box.work = work;
  box.arg = arg;
  store_release(box.posted, box.posted + 1);
  x86::apic::send(Icr::fixed(x86::kVectorWake, box.apic_id));
}

void wait(u32 cpu) {
  const Mailbox& box = boxes[cpu];
  while (load_acquire(box.finished) != load_acquire(box.posted)) x86::sti_hlt_cli();
}

void run_on(u32 cpu, Work work, void* arg) {
  if (cpu == 0) {
    work(arg);
    return;
  }
  post(cpu, work, arg);
  wait(cpu);
}

}  // namespace ptb::smp

// An AP's first C++: its own descriptors and per-CPU area, the boot CPU's control registers, its
// APIC; then it says it runs and waits for work.
extern "C" [[noreturn]] void ap_main(ptb::u64 index) {
  using namespace ptb;
  smp::Mailbox& box = smp::boxes[index];
  x86::init_ap_descriptors(*box.area, index);
  x86::write_cr0(x86::kKernelCr0.raw);
  x86::write_cr4(x86::Cr4{smp::boot_state.cr4});
  x86::wrmsr(x86::msr::kEfer, smp::boot_state.efer);
  if (smp::boot_state.has_pat) x86::wrmsr(x86::msr::kPat, smp::boot_state.pat);
  x86::apic::enable_this_cpu(x86::kVectorSpurious, true);
  store_release(box.online, u32{1});
  smp::idle(box);
}
