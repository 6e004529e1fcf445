// Multiboot2 boot information reader: pure (host-tested against synthetic and damaged buffers).
//
// Multiboot2 spec 2.0 §3.6: the boot information is { u32 total_size, u32 reserved } followed by
// tags, each 8-byte aligned and starting { u32 type, u32 size }, ended by a tag of type 0, size 8.
// `size` counts the tag header but not the padding up to the next 8-byte boundary.
#pragma once

#include "lib/types.h"

namespace ptb::mb2 {

// Multiboot2 spec §3.3: EAX holds this on entry to the OS image; EBX holds the info's address.
inline constexpr u32 kBootMagic = 0x36d76289;

// Multiboot2 spec §3.6.x tag type numbers (only the ones this reader uses are named; every other
// tag, e.g. the boot loader name or the basic memory information, is skipped by its size).
enum TagType : u32 {
  kTagEnd = 0,
  kTagCmdline = 1,
  kTagModule = 3,
  kTagMemoryMap = 6,
  kTagFramebuffer = 8,
  kTagEfi32 = 11,
  kTagEfi64 = 12,
  kTagAcpiOld = 14,
  kTagAcpiNew = 15,
};

// Problem::tag_type for problems that belong to the header rather than to a tag.
inline constexpr u32 kNoTag = 0xffff'ffff;

// Multiboot2 spec §3.6.8: memory map entry types.
inline constexpr u32 kMemoryAvailable = 1;
inline constexpr u32 kMemoryReserved = 2;
inline constexpr u32 kMemoryAcpiReclaimable = 3;
inline constexpr u32 kMemoryAcpiNvs = 4;
inline constexpr u32 kMemoryBad = 5;

// Multiboot2 spec §3.6.12: framebuffer_type.
inline constexpr u8 kFramebufferIndexed = 0;
inline constexpr u8 kFramebufferRgb = 1;
inline constexpr u8 kFramebufferEgaText = 2;

struct MemoryRegion {
  u64 base;
  u64 length;
  u32 type;  // kMemory*; 1 = available RAM
};

struct Framebuffer {
  u64 addr;                  // physical
  u32 pitch, width, height;  // pitch in bytes; width/height in pixels (characters for EGA text)
  u8 bpp, type;              // type: kFramebuffer*
  // Only meaningful for kFramebufferRgb (zero otherwise).
  u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct Module {
  u32 start, end;       // physical, [start, end)
  const char* cmdline;  // NUL-terminated, inside the info; nullptr when the tag's string was bad
};

struct Problem {
  const char* what;  // static text, no trailing newline
  u32 tag_type;      // kNoTag for header problems
  u32 offset;        // byte offset of the tag inside the boot information
};

inline constexpr usize kMaxMemoryRegions = 128;
inline constexpr usize kMaxModules = 16;
inline constexpr usize kMaxProblems = 16;

struct BootInfo {
  u32 total_size;

  // Points into the info and is NUL-terminated; nullptr/0 when absent or malformed.
  const char* cmdline;
  usize cmdline_len;  // without the NUL

  MemoryRegion memory[kMaxMemoryRegions];  // in the order given; zero-length entries dropped
  usize memory_count;
  bool memory_truncated;  // more regions than fit; the rest were dropped
  bool memory_overlaps;   // some regions overlap (kept as given; see problems)

  bool has_framebuffer;  // only set when the tag was complete and its geometry consistent
  Framebuffer framebuffer;

  Module modules[kMaxModules];
  usize module_count;

  const u8* rsdp;   // the RSDP copy inside the tag; nullptr when absent
  u8 rsdp_version;  // 1 (tag 14, ACPI 1.0 RSDP, >= 20 bytes) or 2 (tag 15, XSDP, >= 36 bytes)

  bool efi;  // an EFI system table tag (11 or 12) was seen: UEFI boot (the pointer is not used)

  Problem problems[kMaxProblems];
  usize problem_count;
  usize problems_dropped;  // problems beyond kMaxProblems (counted, not stored)
};

// Reads the boot information at `info`, touching at most `readable` bytes from it, and never
// more than total_size. Every malformed thing becomes a Problem; parsing keeps whatever it could
// read before the damage (a tag whose header is broken ends the walk, since the next tag's place
// is then unknown). `out` is fully overwritten.
//
// Returns false only when nothing usable could be read: null or not 8-aligned pointer,
// readable < 16, total_size < 16 or total_size > readable (a total_size beyond what the caller can
// map usually means a wrong pointer). The reason is then in out.problems[0].
[[nodiscard]] bool parse(const u8* info, usize readable, BootInfo& out);

// "available", "reserved", "ACPI reclaimable", "ACPI NVS", "bad", or "unknown".
const char* memory_type_name(u32 type);

// "command line", "memory map", ... or "unknown" (for printing problems).
const char* tag_name(u32 type);

}  // namespace ptb::mb2
