// The JSON record builder every PTIBENCH record goes through.
#include <gtest/gtest.h>

#include <string>

#include "lib/json.h"

namespace ptb {
namespace {

TEST(JsonRecord, WritesTypeFirstThenFieldsInOrder) {
  Text<200> buf;
  JsonRecord j(buf, "summary");
  j.num("ok", 3).str("status", "pass").boolean("flag", false).fixed("median", 1.5);
  EXPECT_STREQ(j.finish().c_str(),
               R"({"type":"summary","ok":3,"status":"pass","flag":false,"median":1.500})");
}

TEST(JsonRecord, NestsObjectsAndArraysWithCommasOnlyBetweenItems) {
  Text<200> buf;
  JsonRecord j(buf, "env");
  j.begin_object("features").boolean("pcid", true).boolean("pge", false).end_object();
  j.begin_object("empty").end_object();
  j.begin_array("samples").item_fixed(1).item_fixed(2.25).end_array();
  j.begin_array("none").end_array().item(7);
  EXPECT_STREQ(j.finish().c_str(),
               R"({"type":"env","features":{"pcid":true,"pge":false},"empty":{},)"
               R"("samples":[1.000,2.250],"none":[],7})");
}

TEST(JsonRecord, EscapesStringsAndWritesHexAsStrings) {
  Text<200> buf;
  JsonRecord j(buf, "fault");
  j.str("reason", "a \"quoted\"\n\x01").hex("rip", 0x10234a).str("cut", "abcdef", 3);
  j.str("null", nullptr);
  EXPECT_STREQ(j.finish().c_str(),
               R"({"type":"fault","reason":"a \"quoted\"\u000a\u0001","rip":"0x10234a",)"
               R"("cut":"abc","null":""})");
}

TEST(JsonRecord, ReusesTheBufferFromTheStartAndReportsTruncation) {
  Text<24> buf;
  buf.put("old text");
  JsonRecord j(buf, "check");
  EXPECT_FALSE(j.truncated());
  j.str("detail", "far too long for twenty-four bytes");
  EXPECT_TRUE(j.truncated());
  EXPECT_EQ(std::string(j.finish().c_str()).rfind(R"({"type":"check")", 0), 0u);
}

}  // namespace
}  // namespace ptb
