// guest_exits (bench/guest_exits.h): which operations of each variant a hypervisor may intercept,
// checked on the real table: every row of the flush and crossing families names its operation,
// the rows that only compute or make system calls without PTI name none.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "bench/guest_exits.h"
#include "bench/row.h"

namespace ptb::bench {
namespace {

std::map<std::string, std::string> exits_by_name() {
  std::vector<Row> rows(kMaxRows);
  const std::vector<u32> touch{1, 8};
  const usize n = build_table(rows.data(), kMaxRows, TableParams{64, false, touch.data(), 2});
  std::map<std::string, std::string> m;
  for (usize i = 0; i < n; ++i) {
    Text<kNameMax> name;
    put_name(name, rows[i]);
    Text<64> e;
    put_guest_exits(e, guest_exits(rows[i]));
    m[name.c_str()] = e.c_str();
  }
  return m;
}

TEST(GuestExits, NamedPerVariant) {
  const auto m = exits_by_name();
  const std::map<std::string, std::string> expected{
      {"cr3.read", "cr3"},
      {"cr3.write.nopcid", "cr3"},
      {"cr3.switch.pcid.noflush", "cr3"},
      {"invpcid.single", "invpcid"},
      {"invlpg", "invlpg"},
      {"invlpg.unmapped", "invlpg"},
      {"cr4.read", ""},
      {"cr4.pge.toggle", "cr4"},
      {"syscall.direct", ""},
      {"syscall.direct.touch.8", ""},
      {"syscall.pti", "cr3"},
      {"syscall.pti.pcid.touch.1", "cr3"},
      {"fault.pf", "pf"},
      {"fault.pf.pti.pcid", "cr3,pf"},
      {"trap.int3", ""},
      {"int.soft.pti", "cr3"},
      {"crossing.pf.u2k", "pf"},
      {"crossing.pf.pti.k2u", "cr3,pf"},
      {"crossing.syscall.pti.u2k", "cr3"},
      {"crossing.int3.u2k", ""},
      {"tlb.refill.none.8", ""},
      {"tlb.refill.cr3.noflush.8", "cr3"},
      {"tlb.refill.invpcid.single.64", "invpcid"},
      {"tlb.refill.global.invlpg.1", "invlpg"},
      {"probe.invlpg", "invlpg,pt-write"},
      {"probe.cr3.pcid.switch.noflush", "cr3,pt-write"},
      {"probe.invpcid.addr.other", "invpcid,pt-write"},
      {"probe.cr4.pge.toggle.global", "cr4,pt-write"},
  };
  for (const auto& [name, exits] : expected) {
    auto it = m.find(name);
    ASSERT_NE(it, m.end()) << name;
    EXPECT_EQ(it->second, exits) << name;
  }
}

TEST(GuestExits, EveryFlushAndProbeRowNamesSomething) {
  for (const auto& [name, exits] : exits_by_name()) {
    const std::string group = name.substr(0, name.find('.'));
    if (group == "cr3" || group == "invpcid" || group == "invlpg" || group == "probe" ||
        name.find(".pti") != std::string::npos) {
      EXPECT_NE(exits, "") << name;
    }
  }
}

TEST(GuestExits, TheAddressSpaceLabSwitchesAndInvalidates) {
  Row lab;
  lab.group = Group::kAspace;
  lab.method = Method::kAspace;
  Text<64> t;
  put_guest_exits(t, guest_exits(lab));
  EXPECT_STREQ(t.c_str(), "cr3,invlpg,invpcid,pt-write");
}

TEST(GuestExits, IpisAndShootdownsSendInterrupts) {
  Row fixed;
  fixed.group = Group::kIpi;
  fixed.method = Method::kIpiFixed;
  Row poll = fixed;
  poll.method = Method::kIpiPoll;
  Row shoot;
  shoot.group = Group::kShootdown;
  shoot.method = Method::kShootdown;
  Row invlpgb = shoot;
  invlpgb.shoot = ShootScheme::kInvlpgb;
  Row invlpgb_pcid = shoot;
  invlpgb_pcid.shoot = ShootScheme::kInvlpgbPcid;
  Row pti = shoot;
  pti.shoot = ShootScheme::kPti;
  const std::pair<const Row*, const char*> cases[] = {
      {&fixed, "ipi,hlt"},
      {&poll, "ipi"},
      {&shoot, "cr3,invlpg,invpcid,pt-write,ipi"},
      {&invlpgb, "cr3,invlpg,invpcid,pt-write"},
      {&invlpgb_pcid, "cr3,invlpg,invpcid,pt-write"},
      {&pti, "cr3,invlpg,invpcid,pt-write,ipi"},
  };
  for (const auto& [row, want] : cases) {
    Text<64> t;
    put_guest_exits(t, guest_exits(*row));
    EXPECT_STREQ(t.c_str(), want);
  }
}

TEST(GuestExits, NamesInEnumOrder) {
  Text<64> t;
  put_guest_exits(t, kExitPtWrite | kExitCr3 | kExitPf);
  EXPECT_STREQ(t.c_str(), "cr3,pf,pt-write");
  Text<64> none;
  put_guest_exits(none, 0);
  EXPECT_STREQ(none.c_str(), "");
}

}  // namespace
}  // namespace ptb::bench
