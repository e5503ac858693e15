#include "modules/moderation/classifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace qz::moderation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// ReadLabels

TEST(ReadLabels, HeaderCrlfBomAndBothLabelStyles) {
  auto f = ReadLabels("\xEF\xBB\xBFlabel\ttext\r\n1\t出元宝\r\n0\thello there\r\nspam\tWIN now\nham\tok\tlater",
                      "t.tsv");
  EXPECT_EQ(f.lines, 5u);
  EXPECT_TRUE(f.problems.empty());
  ASSERT_EQ(f.rows.size(), 4u);
  EXPECT_TRUE(f.rows[0].spam);
  EXPECT_EQ(f.rows[0].text, "出元宝");
  EXPECT_FALSE(f.rows[1].spam);
  EXPECT_EQ(f.rows[1].text, "hello there");
  EXPECT_TRUE(f.rows[2].spam);
  EXPECT_FALSE(f.rows[3].spam);
  EXPECT_EQ(f.rows[3].text, "ok\tlater");  // only the first tab separates
}

TEST(ReadLabels, BadLinesAreReportedWithTheirNumberAndSkipped) {
  std::string long_line = "1\t" + std::string(kMaxLabelLineBytes, 'a');
  std::string content = "1\tgood\n"          // 1
                        "no tab here\n"      // 2
                        "2\tbad label\n"     // 3
                        "0\t  \n"            // 4
                        "1\tbad \xff utf8\n" // 5
                        "\n"                 // 6
                        + long_line + "\n"   // 7
                        "label\ttext\n"      // 8: a header only on line 1
                        "0\tfine\n";         // 9
  auto f = ReadLabels(content, "x.tsv");
  EXPECT_EQ(f.lines, 9u);
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_EQ(f.rows[0].text, "good");
  EXPECT_EQ(f.rows[1].text, "fine");
  ASSERT_EQ(f.problems.size(), 7u);
  EXPECT_EQ(f.problems[0], "x.tsv:2: no tab between the label and the text");
  EXPECT_EQ(f.problems[1], "x.tsv:3: label \"2\" is not one of 1, 0, spam, ham");
  EXPECT_EQ(f.problems[2], "x.tsv:4: empty text");
  EXPECT_EQ(f.problems[3], "x.tsv:5: invalid UTF-8 at byte 7");
  EXPECT_EQ(f.problems[4], "x.tsv:6: empty line");
  EXPECT_THAT(f.problems[5], HasSubstr("x.tsv:7: line of 65538 bytes is longer than 65536"));
  EXPECT_THAT(f.problems[6], HasSubstr("x.tsv:8: label \"label\""));
}

TEST(ReadLabels, EmptyInputHasNoLines) {
  auto f = ReadLabels("", "e.tsv");
  EXPECT_EQ(f.lines, 0u);
  EXPECT_TRUE(f.rows.empty());
  EXPECT_TRUE(f.problems.empty());
}

// ---------------------------------------------------------------------------------------------
// Training on a small synthetic corpus of game-gold ads and ordinary chat

struct Corpus {
  std::vector<LabelledText> train, held_out;
};

Corpus Synthetic() {
  const std::vector<std::string> goods = {"元宝", "银子", "钻石", "金币", "礼包", "喇叭"};
  const std::vector<std::string> calls = {"要的加微信", "需要的滴滴", "私聊加q", "联系vx"};
  const std::vector<std::string> chat = {"今天副本打不过", "晚上一起组队吗", "这个boss好难",
                                         "老大带带我", "谁在线啊", "刚才掉线了", "明天几点开会",
                                         "我去吃饭了", "哈哈哈笑死", "公会战加油"};
  Corpus c;
  uint64_t n = 12345;
  auto next = [&n] { return n = n * 6364136223846793005ull + 1442695040888963407ull; };
  for (int i = 0; i < 400; ++i) {
    const std::string& g = goods[next() % goods.size()];
    const std::string& call = calls[next() % calls.size()];
    std::string ad = "出" + g + std::to_string(1000 + next() % 90000) + call +
                     std::to_string(100000000 + next() % 900000000);
    std::string ham = chat[next() % chat.size()] + chat[next() % chat.size()];
    auto& dest = i % 5 == 0 ? c.held_out : c.train;
    dest.push_back({true, std::move(ad)});
    dest.push_back({false, std::move(ham)});
  }
  return c;
}

TrainOptions SmallOptions() {
  TrainOptions o;
  o.features.hash_bits = 14;
  return o;
}

TEST(Train, SeparatesHeldOutExamples) {
  Corpus c = Synthetic();
  std::vector<int> epochs_seen;
  TrainOptions o = SmallOptions();
  o.progress = [&](const TrainProgress& p) { epochs_seen.push_back(p.epoch); };
  auto model = Train(c.train, o);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(epochs_seen.size(), static_cast<size_t>(o.epochs));
  Confusion held = Evaluate(**model, c.held_out, 0.5);
  EXPECT_EQ(held.fp, 0);
  EXPECT_EQ(held.fn, 0);
  EXPECT_GT((*model)->Score("出钻石88888要的加微信123456789"), 0.9);
  EXPECT_LT((*model)->Score("晚上一起组队吗"), 0.1);
  EXPECT_LT((*model)->memory_bytes(), 50u << 20);
}

TEST(Train, IsDeterministic) {
  Corpus c = Synthetic();
  auto a = Train(c.train, SmallOptions());
  auto b = Train(c.train, SmallOptions());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->Serialize(), (*b)->Serialize());
  TrainOptions other = SmallOptions();
  other.seed = 2;
  EXPECT_NE((*a)->Serialize(), (*Train(c.train, other))->Serialize());
}

TEST(Train, RejectsOneClassAndBadOptions) {
  std::vector<LabelledText> only_ham = {{false, "a"}, {false, "b"}};
  auto r = Train(only_ham, SmallOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("both classes"));

  Corpus c = Synthetic();
  TrainOptions o = SmallOptions();
  o.epochs = 0;
  EXPECT_EQ(Train(c.train, o).status().field(), "epochs");
  o = SmallOptions();
  o.features.ngram_max = 9;
  EXPECT_EQ(Validate(o).field(), "ngram");
  o = SmallOptions();
  o.features.hash_bits = 30;
  EXPECT_EQ(Validate(o).field(), "hash_bits");
  o = SmallOptions();
  o.learning_rate = std::nan("");
  EXPECT_EQ(Validate(o).field(), "learning_rate");
  o = SmallOptions();
  o.suggested_threshold = 1;
  EXPECT_EQ(Validate(o).field(), "threshold");
}

// ---------------------------------------------------------------------------------------------
// Model file

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    TrainOptions o = SmallOptions();
    o.suggested_threshold = 0.6;
    auto m = Train(Synthetic().train, o);
    ASSERT_TRUE(m.ok());
    model_ = *m;
    bytes_ = model_->Serialize();
  }
  static uint64_t Fnv(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
  }
  // Rewrites the trailing checksum so that a test reaches the check after it.
  static void Reseal(std::string& b) {
    uint64_t h = Fnv(std::string_view(b).substr(0, b.size() - 8));
    std::memcpy(b.data() + b.size() - 8, &h, 8);
  }
  std::string ParseError(const std::string& b) {
    auto r = SpamModel::Parse(b, "m.bin");
    return r.ok() ? "parsed" : r.status().message();
  }
  std::shared_ptr<const SpamModel> model_;
  std::string bytes_;
};

TEST_F(ModelFile, RoundTripGivesIdenticalScores) {
  auto parsed = SpamModel::Parse(bytes_, "m.bin");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)->Serialize(), bytes_);
  EXPECT_FLOAT_EQ((*parsed)->suggested_threshold(), 0.6f);
  EXPECT_EQ((*parsed)->features().hash_bits, 14u);
  for (const LabelledText& e : Synthetic().held_out) {
    EXPECT_EQ((*parsed)->Score(e.text), model_->Score(e.text)) << e.text;
  }
}

TEST_F(ModelFile, LoadReadsAFileAndRefusesMissingOrHugeOnes) {
  auto dir = std::filesystem::temp_directory_path() /
             ("qz_clf_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "model.bin").string();
  std::ofstream(path, std::ios::binary) << bytes_;
  auto loaded = SpamModel::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->Score("出元宝"), model_->Score("出元宝"));

  EXPECT_EQ(SpamModel::Load((dir / "none.bin").string()).status().code(), Code::kNotFound);

  const std::string huge = (dir / "huge.bin").string();
  std::ofstream(huge, std::ios::binary) << "QZSPAM1\n";
  std::filesystem::resize_file(huge, SpamModel::kMaxFileBytes + 1);  // sparse: costs no disk
  auto r = SpamModel::Load(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("more than the limit"));
  std::filesystem::remove_all(dir);
}

TEST_F(ModelFile, CorruptTruncatedAndOversizedAreRejected) {
  EXPECT_THAT(ParseError(""), HasSubstr("m.bin: not a usable spam model: it does not start with"));
  EXPECT_THAT(ParseError("GARBAGE!" + bytes_.substr(8)), HasSubstr("magic"));
  EXPECT_THAT(ParseError(bytes_.substr(0, 20)), HasSubstr("truncated: 20 bytes"));
  EXPECT_THAT(ParseError(bytes_.substr(0, bytes_.size() - 100)), HasSubstr("truncated"));
  EXPECT_THAT(ParseError(bytes_ + "x"), HasSubstr("trailing bytes"));
  EXPECT_THAT(ParseError(std::string(SpamModel::kMaxFileBytes + 1, 'Q')),
              HasSubstr("more than the limit"));

  std::string flipped = bytes_;
  flipped[1000] ^= 0x40;
  EXPECT_THAT(ParseError(flipped), HasSubstr("checksum mismatch"));

  auto with_u32 = [&](size_t offset, uint32_t v) {
    std::string b = bytes_;
    std::memcpy(b.data() + offset, &v, 4);
    Reseal(b);
    return b;
  };
  EXPECT_THAT(ParseError(with_u32(8, 2)), HasSubstr("format version 2; this build reads version 1"));
  EXPECT_THAT(ParseError(with_u32(12, 30)), HasSubstr("hash bits 30"));
  EXPECT_THAT(ParseError(with_u32(12, 15)), HasSubstr("16384 weights for 15 hash bits"));
  EXPECT_THAT(ParseError(with_u32(20, 7)), HasSubstr("n-gram range"));
  EXPECT_THAT(ParseError(with_u32(24, 6)), HasSubstr("unknown flags"));

  std::string nan_weight = bytes_;
  const float nan = std::nanf("");
  std::memcpy(nan_weight.data() + 48 + 4 * 10, &nan, 4);
  Reseal(nan_weight);
  EXPECT_THAT(ParseError(nan_weight), HasSubstr("weight 10 is nan"));

  std::string bad_threshold = bytes_;
  const float two = 2;
  std::memcpy(bad_threshold.data() + 32, &two, 4);
  Reseal(bad_threshold);
  EXPECT_THAT(ParseError(bad_threshold), HasSubstr("threshold 2 not in (0, 1)"));
}

TEST_F(ModelFile, ScoreHandlesEmptyInvalidAndLongText) {
  for (std::string_view t : {std::string_view(""), std::string_view("\xff\xfe\xc0"),
                             std::string_view("\xe5\x85"), std::string_view("\0\0", 2)}) {
    const double p = model_->Score(t);
    EXPECT_TRUE(p >= 0 && p <= 1) << p;
  }
  // An invalid byte reads as U+FFFD, so both texts have the same features.
  EXPECT_EQ(model_->Score("出\xff元宝"), model_->Score("出\xef\xbf\xbd元宝"));
  std::string long_ad;
  while (long_ad.size() < 64 * 1024) long_ad += "出元宝12345要的加微信123456789";
  EXPECT_GT(model_->Score(long_ad), 0.9);
  std::string long_junk(64 * 1024, '\xff');
  const double p = model_->Score(long_junk);
  EXPECT_TRUE(p >= 0 && p <= 1);
}

// ---------------------------------------------------------------------------------------------
// Confusion

TEST(Confusion, Ratios) {
  Confusion c;
  EXPECT_EQ(c.precision(), 0);
  EXPECT_EQ(c.f1(), 0);
  for (int i = 0; i < 8; ++i) c.Add(true, true);
  for (int i = 0; i < 2; ++i) c.Add(true, false);
  c.Add(false, true);
  for (int i = 0; i < 9; ++i) c.Add(false, false);
  EXPECT_THAT((std::vector<int64_t>{c.tp, c.fn, c.fp, c.tn}), ElementsAre(8, 2, 1, 9));
  EXPECT_DOUBLE_EQ(c.precision(), 8.0 / 9);
  EXPECT_DOUBLE_EQ(c.recall(), 0.8);
  EXPECT_DOUBLE_EQ(c.f1(), 2 * (8.0 / 9) * 0.8 / (8.0 / 9 + 0.8));
  EXPECT_DOUBLE_EQ(c.false_positive_rate(), 0.1);
}

}  // namespace
}  // namespace qz::moderation
