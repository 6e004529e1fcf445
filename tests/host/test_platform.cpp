// Exit ports are written on QEMU and Bochs only: which machine is which.
#include <gtest/gtest.h>

#include "kernel/platform.h"

namespace ptb::platform {
namespace {

TEST(Platform, QemuTcgIsKnownFromCpuidAlone) {
  EXPECT_EQ(classify(true, "TCGTCGTCGTCG", nullptr), Kind::kQemu);
  EXPECT_EQ(classify(true, "TCGTCGTCGTCG", "BOCHS "), Kind::kQemu);
}

TEST(Platform, KvmIsQemuOnlyWithQemusFirmware) {
  EXPECT_EQ(classify(true, "KVMKVMKVM", nullptr), Kind::kUnknown);
  EXPECT_EQ(classify(true, "KVMKVMKVM", "BOCHS "), Kind::kQemu);
  EXPECT_EQ(classify(true, "KVMKVMKVM", "AMAZON"), Kind::kOther);  // e.g. another VMM's firmware
}

TEST(Platform, BochsHasItsFirmwareAndNoHypervisorBit) {
  EXPECT_EQ(classify(false, "", "BOCHS "), Kind::kBochs);
}

TEST(Platform, RealMachinesAreOther) {
  EXPECT_EQ(classify(false, "", "DELL  "), Kind::kOther);
  EXPECT_EQ(classify(false, "", "BOCHS"), Kind::kOther);  // not the 6-character ID
  EXPECT_EQ(classify(true, "VMwareVMware", "VMWARE"), Kind::kOther);
  EXPECT_EQ(classify(false, "", nullptr), Kind::kUnknown);
}

}  // namespace
}  // namespace ptb::platform
