#include "kernel/multiboot2.h"

namespace ptb::mb2 {
namespace {

// Every read goes through these: the bytes are copied into a local, so neither alignment nor
// strict aliasing matter (and the compilers lower the fixed-size copy to a plain load).
u8 load8(const u8* p) { return *p; }
u16 load16(const u8* p) {
  u16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
u32 load32(const u8* p) {
  u32 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
u64 load64(const u8* p) {
  u64 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

void note(BootInfo& out, const char* what, u32 tag_type, usize offset) {
  if (out.problem_count < kMaxProblems) {
    out.problems[out.problem_count++] = Problem{what, tag_type, static_cast<u32>(offset)};
  } else {
    ++out.problems_dropped;
  }
}

// A tag's bytes: [p, p + size), with size >= 8 and wholly inside the readable info.
struct Tag {
  const u8* p;
  u32 type;
  u32 size;
  usize offset;
};

// A NUL-terminated string at tag offset `at`; nullptr if the tag holds no NUL after it.
const char* tag_string(const Tag& t, u32 at, usize* len_out) {
  for (u32 i = at; i < t.size; ++i) {
    if (t.p[i] == 0) {
      if (len_out) *len_out = i - at;
      return reinterpret_cast<const char*>(t.p + at);
    }
  }
  return nullptr;
}

// Multiboot2 spec §3.6.3 / §3.6.4: { type, size, char string[] }.
void read_cmdline(const Tag& t, BootInfo& out) {
  usize len = 0;
  const char* s = tag_string(t, 8, &len);
  if (s == nullptr) {
    note(out, "command line not NUL-terminated; ignored", t.type, t.offset);
    return;
  }
  out.cmdline = s;
  out.cmdline_len = len;
}

// Multiboot2 spec §3.6.6: { type, size, u32 mod_start, u32 mod_end, char string[] }.
void read_module(const Tag& t, BootInfo& out) {
  if (t.size < 16) {
    note(out, "module tag too short", t.type, t.offset);
    return;
  }
  Module m{load32(t.p + 8), load32(t.p + 12), tag_string(t, 16, nullptr)};
  if (m.start > m.end) {
    note(out, "module start after its end; module ignored", t.type, t.offset);
    return;
  }
  if (m.cmdline == nullptr) note(out, "module string not NUL-terminated", t.type, t.offset);
  if (out.module_count == kMaxModules) {
    note(out, "more modules than fit; module ignored", t.type, t.offset);
    return;
  }
  out.modules[out.module_count++] = m;
}

bool overlaps(const MemoryRegion& a, const MemoryRegion& b) {
  // Lengths are non-zero and base + length does not wrap (checked when reading).
  return a.base < b.base + b.length && b.base < a.base + a.length;
}

// Multiboot2 spec §3.6.8: { type, size, u32 entry_size, u32 entry_version, entries[] } with
// entries { u64 base_addr, u64 length, u32 type, u32 reserved }. entry_size is a multiple of 8
// and may grow in later versions, so the stride is entry_size, not 24.
void read_memory_map(const Tag& t, BootInfo& out) {
  if (t.size < 16) {
    note(out, "memory map tag too short", t.type, t.offset);
    return;
  }
  u32 entry_size = load32(t.p + 8);
  if (entry_size < 24) {
    note(out, "memory map entry_size smaller than 24; map ignored", t.type, t.offset);
    return;
  }
  usize first_new = out.memory_count;
  u32 at = 16;
  bool zero_noted = false;
  bool wrap_noted = false;
  for (; t.size - at >= entry_size; at += entry_size) {
    MemoryRegion r{load64(t.p + at), load64(t.p + at + 8), load32(t.p + at + 16)};
    if (r.length == 0) {
      if (!zero_noted) note(out, "zero-length memory region(s) skipped", t.type, t.offset);
      zero_noted = true;
      continue;
    }
    if (r.base + r.length <= r.base) {
      // Ends beyond 2^64 (or exactly at it, which the [base, base + length) arithmetic used for
      // overlap checks cannot represent either).
      if (!wrap_noted) note(out, "memory region wraps past 2^64; skipped", t.type, t.offset);
      wrap_noted = true;
      continue;
    }
    if (out.memory_count == kMaxMemoryRegions) {
      // Stop reading, but still check what was kept for overlaps below.
      out.memory_truncated = true;
      note(out, "more memory regions than fit; the rest are ignored", t.type, t.offset);
      break;
    }
    out.memory[out.memory_count++] = r;
  }
  if (!out.memory_truncated && at != t.size)
    note(out, "memory map ends with a partial entry", t.type, t.offset);

  // Overlaps are kept (the firmware's word is all there is) but reported, once per tag.
  for (usize i = first_new; i < out.memory_count; ++i) {
    for (usize j = 0; j < i; ++j) {
      if (overlaps(out.memory[i], out.memory[j])) {
        out.memory_overlaps = true;
        note(out, "memory regions overlap (kept as given)", t.type, t.offset);
        return;
      }
    }
  }
}

// Multiboot2 spec §3.6.12: { type, size, u64 addr, u32 pitch, u32 width, u32 height, u8 bpp,
// u8 framebuffer_type, u16 reserved, color_info }; for RGB, color_info is six u8: red position,
// red mask size, green..., blue....
void read_framebuffer(const Tag& t, BootInfo& out) {
  if (t.size < 32) {
    note(out, "framebuffer tag too short", t.type, t.offset);
    return;
  }
  Framebuffer fb{};
  fb.addr = load64(t.p + 8);
  fb.pitch = load32(t.p + 16);
  fb.width = load32(t.p + 20);
  fb.height = load32(t.p + 24);
  fb.bpp = load8(t.p + 28);
  fb.type = load8(t.p + 29);
  (void)load16(t.p + 30);  // reserved
  if (fb.type == kFramebufferRgb) {
    if (t.size < 38) {
      note(out, "framebuffer tag too short for its RGB color info", t.type, t.offset);
      return;
    }
    fb.red_pos = load8(t.p + 32);
    fb.red_size = load8(t.p + 33);
    fb.green_pos = load8(t.p + 34);
    fb.green_size = load8(t.p + 35);
    fb.blue_pos = load8(t.p + 36);
    fb.blue_size = load8(t.p + 37);
  }
  if (fb.bpp == 0) {
    note(out, "framebuffer bpp is 0; framebuffer ignored", t.type, t.offset);
    return;
  }
  // In 64-bit arithmetic: width * bpp cannot overflow it.
  if (u64{fb.pitch} * 8 < u64{fb.width} * fb.bpp) {
    note(out, "framebuffer pitch smaller than width * bpp / 8; framebuffer ignored", t.type,
         t.offset);
    return;
  }
  // pitch * height fits 64 bits (two u32); the end, addr + that, must too: the kernel maps and
  // bounds-checks [addr, addr + pitch * height). Reaching 2^64 exactly is refused as well, as for
  // memory regions: the end would read as 0.
  const u64 bytes = u64{fb.pitch} * fb.height;
  if (bytes != 0 && fb.addr + bytes <= fb.addr) {
    note(out, "framebuffer wraps past 2^64; framebuffer ignored", t.type, t.offset);
    return;
  }
  out.has_framebuffer = true;
  out.framebuffer = fb;
}

// Multiboot2 spec §3.6.16/§3.6.17: { type, size, copy of the RSDP }. ACPI 6.x 5.2.5.3: the
// ACPI 1.0 RSDP is 20 bytes; the 2.0+ one (with XsdtAddress) is 36.
void read_rsdp(const Tag& t, BootInfo& out) {
  bool is_new = t.type == kTagAcpiNew;
  if (t.size - 8 < (is_new ? 36u : 20u)) {
    note(out,
         is_new ? "ACPI new RSDP tag too short (< 36 bytes)"
                : "ACPI old RSDP tag too short (< 20 bytes)",
         t.type, t.offset);
    return;
  }
  // The new (XSDP) copy wins over the old one whichever comes first.
  if (!is_new && out.rsdp_version == 2) return;
  out.rsdp = t.p + 8;
  out.rsdp_version = is_new ? 2 : 1;
}

void read_tag(const Tag& t, BootInfo& out) {
  switch (t.type) {
    case kTagCmdline:
      return read_cmdline(t, out);
    case kTagModule:
      return read_module(t, out);
    case kTagMemoryMap:
      return read_memory_map(t, out);
    case kTagFramebuffer:
      return read_framebuffer(t, out);
    case kTagEfi32:  // Multiboot2 spec §3.6.13/§3.6.14: only the tag's presence is used
    case kTagEfi64:
      out.efi = true;
      return;
    case kTagAcpiOld:
    case kTagAcpiNew:
      return read_rsdp(t, out);
    default:
      return;  // unknown or uninteresting: skipped by its size
  }
}

}  // namespace

// Zeroing in place (all-zero bytes are null pointers, false and 0 here) avoids a 4 KiB
// temporary on the kernel stack that `out = BootInfo{}` may create at -O0.
static_assert(__is_trivially_copyable(BootInfo));

bool parse(const u8* info, usize readable, BootInfo& out) {
  __builtin_memset(&out, 0, sizeof out);
  if (info == nullptr) {
    note(out, "boot information pointer is null", kNoTag, 0);
    return false;
  }
  if (reinterpret_cast<uintptr_t>(info) % 8 != 0) {
    note(out, "boot information pointer not 8-byte aligned", kNoTag, 0);
    return false;
  }
  if (readable < 16) {
    note(out, "fewer than 16 readable bytes of boot information", kNoTag, 0);
    return false;
  }
  out.total_size = load32(info);
  if (out.total_size < 16) {
    note(out, "total_size smaller than 16", kNoTag, 0);
    return false;
  }
  if (out.total_size > readable) {
    note(out, "total_size larger than the readable boot information", kNoTag, 0);
    return false;
  }

  const usize limit = out.total_size;
  usize offset = 8;
  bool end_tag = false;
  while (offset < limit) {
    if (limit - offset < 8) {
      note(out, "tag header runs past the end of the boot information", kNoTag, offset);
      break;
    }
    Tag t{info + offset, load32(info + offset), load32(info + offset + 4), offset};
    if (t.type == kTagEnd) {
      if (t.size != 8) note(out, "end tag size is not 8", t.type, offset);
      end_tag = true;
      break;
    }
    if (t.size < 8) {
      note(out, "tag size smaller than 8", t.type, offset);
      break;
    }
    if (t.size > limit - offset) {
      note(out, "tag runs past the end of the boot information", t.type, offset);
      break;
    }
    read_tag(t, out);
    offset += (usize{t.size} + 7) & ~usize{7};
  }
  if (!end_tag) note(out, "no end tag", kNoTag, offset < limit ? offset : limit);
  return true;
}

const char* memory_type_name(u32 type) {
  switch (type) {
    case kMemoryAvailable:
      return "available";
    case kMemoryReserved:
      return "reserved";
    case kMemoryAcpiReclaimable:
      return "ACPI reclaimable";
    case kMemoryAcpiNvs:
      return "ACPI NVS";
    case kMemoryBad:
      return "bad";
    default:
      return "unknown";
  }
}

const char* tag_name(u32 type) {
  switch (type) {
    case kTagEnd:
      return "end";
    case kTagCmdline:
      return "command line";
    case kTagModule:
      return "module";
    case kTagMemoryMap:
      return "memory map";
    case kTagFramebuffer:
      return "framebuffer";
    case kTagEfi32:
      return "EFI 32-bit system table";
    case kTagEfi64:
      return "EFI 64-bit system table";
    case kTagAcpiOld:
      return "ACPI old RSDP";
    case kTagAcpiNew:
      return "ACPI new RSDP";
    case kNoTag:
      return "header";
    default:
      return "unknown";
  }
}

}  // namespace ptb::mb2
