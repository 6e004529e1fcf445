// Row names and the touch= list: pure.
#include "bench/row.h"

namespace ptb::bench {

const char* group_name(Group g) {
  constexpr const char* kNames[] = {"cr3",     "invpcid", "invlpg", "cr4",      "tlb",
                                    "syscall", "fault",   "trap",   "int",      "crossing",
                                    "probe",   "aspace",  "ipi",    "shootdown"};
  return kNames[static_cast<u32>(g)];
}

const char* flush_name(Flush f) {
  constexpr const char* kNames[] = {"none", "cr3", "cr3.noflush", "invpcid.single", "invlpg"};
  return kNames[static_cast<u32>(f)];
}

const char* access_name(Access a) { return a == Access::kChase ? "chase" : "independent"; }

const char* refills_name(u8 refills) {
  constexpr const char* kNames[] = {"none", "code", "descriptor", "code+descriptor"};
  return kNames[refills & 3];
}

const char* cross_name(Cross c) {
  constexpr const char* kNames[] = {"", "syscall", "pf", "int3", "int"};
  return kNames[static_cast<u32>(c)];
}

const char* scheme_suffix(x86::EntryScheme s) {
  switch (s) {
    case x86::EntryScheme::kNone:
      break;
    case x86::EntryScheme::kPti:
      return ".pti";
    case x86::EntryScheme::kPcid:
      return ".pti.pcid";
    case x86::EntryScheme::kPcidFlush:
      return ".pti.pcid.flush";
  }
  return "";
}

void put_name(TextBuf& t, const Row& r) {
  t.put(group_name(r.group));
  if (r.label[0]) t.put('.').put(r.label);
  if (r.method == Method::kRefill) {
    t.put(r.global ? ".global." : ".").put(flush_name(r.flush)).put('.').put_u64(r.pages);
  }
  if (r.pure) t.put(".pure");
  if (r.scheme_suffix) t.put(scheme_suffix(r.env.scheme));
  if (r.env.nonglobal) t.put(".415");  // as Linux 4.15 mapped it: nothing global
  if (r.touch) t.put(".touch.").put_u64(r.touch);
  if (r.method == Method::kCrossing) t.put(r.direction == Direction::kU2k ? ".u2k" : ".k2u");
  if (r.method == Method::kAspace) {
    t.put('.').put(aspace::policy_name(r.lab.policy));
    if (r.lab.policy == aspace::Policy::kLinux) t.put('.').put_u64(r.lab.slots);
    t.put('.').put(aspace::schedule_name(r.lab.schedule)).put(".p").put_u64(r.lab.processes);
    t.put(".kk").put_u64(r.lab.kernel_pages);
    if (r.global) t.put(".global");
    if (r.lab.no_invpcid) t.put(".noinvpcid");
  }
  if (is_ipi(r)) t.put('.').put_u64(r.source).put('.').put_u64(r.target);
  if (r.method == Method::kShootdown) {
    if (r.shoot != ShootScheme::kInvlpgb) t.put(".t").put_u64(r.targets);
    t.put(".p").put_u64(r.pages);
  }
}

usize parse_touch_list(const char* s, usize len, u32* out, usize cap, usize* rejected,
                       usize* repeated) {
  return parse_u32_list(s, len, 1, kMaxTouch, out, cap, rejected, repeated);
}

usize parse_u32_list(const char* s, usize len, u32 lo, u32 hi, u32* out, usize cap, usize* rejected,
                     usize* repeated) {
  usize n = 0, bad_count = 0, repeat_count = 0;
  u64 v = 0;
  bool digits = false, bad = false;
  for (usize i = 0; i <= len; ++i) {
    char c = i < len ? s[i] : ',';
    if (c >= '0' && c <= '9') {
      v = v * 10 + static_cast<u64>(c - '0');
      digits = true;
      if (v > hi) bad = true;
    } else if (c == ',') {
      if (digits && !bad && v >= lo) {
        bool seen = false;
        for (usize k = 0; k < n; ++k) seen = seen || out[k] == v;
        if (seen) {
          ++repeat_count;  // one row per K: names are unique
        } else if (n < cap) {
          out[n++] = static_cast<u32>(v);
        }
      } else if (digits || bad) {
        ++bad_count;
      }
      v = 0;
      digits = bad = false;
    } else {
      bad = true;
    }
  }
  if (rejected) *rejected = bad_count;
  if (repeated) *repeated = repeat_count;
  return n;
}

}  // namespace ptb::bench
