// qz_answers_bench: the answers module's per-message work (issue 9's target: FAQ matching with
// 5,000 entries at >= 200k messages/s on one core), measured through the module's own Prepare
// (normalise, match every entry in one pass, detect a question) and compared in the same run
// with two baselines on the same messages:
//   normalise  the normalisation alone (the floor: matching cannot be cheaper than this)
//   naive      the obvious implementation: every entry's keywords searched in turn with
//              std::string_view::find (exact entries compared), on a sample of the messages
// Also reports the compiled entry set's memory (RSS growth) and compile time.
//
//   qz_answers_bench [--corpus FILE] [--entries N] [--messages N] [--rounds N] [--naive N]
//                    [--regex no]   (no regex entries: their share becomes contains entries)
//
// Entries are drawn from the corpus (a tab-separated "label<TAB>text" file such as
// ads-zh-game/train.txt, or one message a line), so keywords are phrases people actually write:
// 75% contains entries (two 2-5 character phrases), 20% exact (a whole message), 5% regex
// (phrase.{0,20}phrase). Without a corpus, a deterministic synthetic one is used.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "core/text/normalize.hpp"
#include "core/text/utf8.hpp"
#include "modules/answers/answers.hpp"

namespace qz {
namespace {

using Clock = std::chrono::steady_clock;

using bench::LoadCorpus;
using bench::RssKb;

std::vector<std::string> SyntheticCorpus(size_t n) {
  static const char* kParts[] = {"今天", "作业", "什么时候", "交", "老师", "好的", "哈哈哈", "明天见",
                                 "这题", "怎么做", "我觉得", "可以", "打卡", "第三天", "完成了", "加油",
                                 "see you", "thanks", "直播", "回放", "证书", "上课", "复习", "退款",
                                 "课表", "群公告", "链接", "小程序", "几点", "在哪里"};
  std::mt19937 rng(7);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    std::string s;
    const int words = 2 + static_cast<int>(rng() % 6);
    for (int w = 0; w < words; ++w) s += kParts[rng() % std::size(kParts)];
    out.push_back(std::move(s));
  }
  return out;
}

// The byte offsets of each UTF-8 character of `s`, plus s.size().
std::vector<size_t> CharStarts(std::string_view s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  out.push_back(s.size());
  return out;
}

// A random phrase of 2..5 characters from a random corpus line, normalised; empty if none.
std::string Phrase(const std::vector<std::string>& corpus, std::mt19937& rng) {
  const std::string normalized = text::Normalizer::Default().Normalize(corpus[rng() % corpus.size()]).text;
  const std::vector<size_t> starts = CharStarts(normalized);
  const size_t chars = starts.size() - 1;
  if (chars < 2) return {};
  const size_t len = 2 + rng() % std::min<size_t>(4, chars - 1);
  const size_t from = rng() % (chars - len + 1);
  return normalized.substr(starts[from], starts[from + len] - starts[from]);
}

std::string RegexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::vector<FaqEntry> MakeEntries(const std::vector<std::string>& corpus, size_t n, bool regex) {
  std::mt19937 rng(42);
  std::vector<FaqEntry> out;
  std::set<std::string> seen;
  while (out.size() < n) {
    FaqEntry e;
    e.source = fmt::format("answers.faq[{}]", out.size());
    e.answer.zh = fmt::format("答案 {}", out.size());
    const size_t kind = out.size() % 20;
    if (kind < 4) {  // exact: a whole message
      e.match = FaqEntry::Match::kExact;
      std::string whole = corpus[rng() % corpus.size()];
      if (whole.empty() || text::Normalizer::Default().Normalize(whole).text.empty()) continue;
      e.keywords.push_back(std::move(whole));
    } else if (kind == 4 && regex) {  // regex: two phrases near each other
      e.match = FaqEntry::Match::kRegex;
      const std::string a = Phrase(corpus, rng);
      const std::string b = Phrase(corpus, rng);
      if (a.empty() || b.empty()) continue;
      e.keywords.push_back(RegexEscape(a) + ".{0,20}" + RegexEscape(b));
    } else {
      for (int k = 0; k < 2; ++k) {
        std::string p = Phrase(corpus, rng);
        if (!p.empty() && seen.insert(p).second) e.keywords.push_back(std::move(p));
      }
      if (e.keywords.empty()) continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The obvious matcher: each entry in playbook order, first hit wins.
struct Naive {
  struct Keyword {
    int entry;
    bool exact;
    std::string text;  // normalised
  };
  std::vector<Keyword> keywords;  // in entry order
  int Match(std::string_view normalized) const {
    for (const Keyword& k : keywords) {
      if (k.exact ? normalized == k.text : normalized.find(k.text) != std::string_view::npos) return k.entry;
    }
    return -1;
  }
};

int Run(int argc, char** argv) {
  std::string corpus_path;
  size_t entries = 5000;
  size_t messages = 200000;
  int rounds = 3;
  size_t naive_n = 20000;
  bool regex = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--corpus") {
      corpus_path = value;
    } else if (flag == "--entries") {
      entries = std::stoul(value);
    } else if (flag == "--messages") {
      messages = std::stoul(value);
    } else if (flag == "--rounds") {
      rounds = std::stoi(value);
    } else if (flag == "--regex") {
      regex = value != "no";
    } else if (flag == "--naive") {
      naive_n = std::stoul(value);
    } else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      return 2;
    }
  }
  std::vector<std::string> corpus = corpus_path.empty() ? SyntheticCorpus(50000) : LoadCorpus(corpus_path);
  if (corpus.empty()) {
    fmt::print(stderr, "no messages in {}\n", corpus_path);
    return 2;
  }
  fmt::print("corpus: {} ({} lines); {} entries; {} messages a round\n",
             corpus_path.empty() ? "synthetic" : corpus_path, corpus.size(), entries, messages);

  std::vector<FaqEntry> list = MakeEntries(corpus, entries, regex);
  Naive naive;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].match == FaqEntry::Match::kRegex) continue;  // the naive peer has no regex
    for (const std::string& k : list[i].keywords) {
      naive.keywords.push_back({static_cast<int>(i), list[i].match == FaqEntry::Match::kExact,
                                text::Normalizer::Default().Normalize(k).text});
    }
  }
  // Warm the normaliser (its tables load on first use) before measuring the set's memory.
  (void)text::Normalizer::Default().Normalize("预热");
  const long rss0 = RssKb();
  const auto c0 = Clock::now();
  auto set = FaqSet::Compile(std::move(list));
  const auto c1 = Clock::now();
  if (!set.ok()) {
    fmt::print(stderr, "compile: {}\n", set.status().ToString());
    return 1;
  }
  fmt::print("compile: {:.0f} ms, RSS +{:.1f} MB\n", Seconds(c1 - c0) * 1000, (RssKb() - rss0) / 1024.0);

  AnswersConfig config;
  config.enabled = true;
  config.faq = *set;
  std::unique_ptr<Module> module = MakeAnswersModule();
  std::vector<Event> events(std::min(messages, corpus.size() * 4));
  for (size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    e.id = fmt::format("m{}", i);
    e.type = EventType::kMessage;
    e.platform = "sandbox";
    e.group = fmt::format("g{}", i % 10);
    e.member = fmt::format("u{}", i % 5000);
    e.text = corpus[(i * 7919) % corpus.size()];
  }

  for (int round = 1; round <= rounds; ++round) {
    // Normalisation alone, then the module's Prepare, on the same messages.
    size_t bytes = 0;
    auto t0 = Clock::now();
    for (size_t i = 0; i < messages; ++i) {
      thread_local text::NormalizedText n;
      text::Normalizer::Default().Normalize(events[i % events.size()].text, n);
      bytes += n.text.size();
    }
    auto t1 = Clock::now();
    size_t prepared = 0;
    for (size_t i = 0; i < messages; ++i) {
      prepared += module->Prepare(events[i % events.size()], config) != nullptr ? 1 : 0;
    }
    auto t2 = Clock::now();
    // What the messages are (Prepare's result type is the module's own): counted apart.
    size_t hits = 0;
    size_t questions = 0;
    for (size_t i = 0; i < std::min<size_t>(messages, 50000); ++i) {
      const std::string n = text::Normalizer::Default().Normalize(events[i % events.size()].text).text;
      hits += (*set)->Match(n) >= 0 ? 1 : 0;
      questions += IsQuestion(n) ? 1 : 0;
    }
    const double norm_rate = static_cast<double>(messages) / Seconds(t1 - t0);
    const double rate = static_cast<double>(messages) / Seconds(t2 - t1);
    fmt::print("round {}: answers Prepare {:.0f} msg/s ({:.2f} us/msg); normalise alone {:.0f} msg/s; "
               "{:.1f}% of messages match an entry, {:.1f}% read as questions (first 50k)\n",
               round, rate, 1e6 / rate, norm_rate, 100.0 * static_cast<double>(hits) / std::min<double>(messages, 50000),
               100.0 * static_cast<double>(questions) / std::min<double>(messages, 50000));
    if (prepared != messages || bytes == 0) fmt::print(stderr, "warning: {} of {} prepared\n", prepared, messages);
  }

  // The naive peer on a sample (it is far slower); same normalisation, no regex entries.
  size_t agree = 0;
  size_t naive_hits = 0;
  const size_t sample = std::min(naive_n, messages);
  auto n0 = Clock::now();
  for (size_t i = 0; i < sample; ++i) {
    const std::string n = text::Normalizer::Default().Normalize(events[i % events.size()].text).text;
    naive_hits += naive.Match(n) >= 0 ? 1 : 0;
  }
  auto n1 = Clock::now();
  for (size_t i = 0; i < sample; ++i) {
    const std::string n = text::Normalizer::Default().Normalize(events[i % events.size()].text).text;
    const int ours = (*set)->Match(n);
    const int theirs = naive.Match(n);
    // The same entry, or ours found an earlier (regex) entry the naive peer does not have.
    if (ours == theirs || (ours >= 0 && (*set)->entries()[static_cast<size_t>(ours)].match == FaqEntry::Match::kRegex)) {
      ++agree;
    }
  }
  const double naive_rate = static_cast<double>(sample) / Seconds(n1 - n0);
  fmt::print("naive peer: {:.0f} msg/s on {} messages ({:.1f}% match); same entry as ours on {:.2f}%\n", naive_rate,
             sample, 100.0 * static_cast<double>(naive_hits) / static_cast<double>(sample),
             100.0 * static_cast<double>(agree) / static_cast<double>(sample));
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  fmt::print("peak RSS {:.1f} MB\n", static_cast<double>(u.ru_maxrss) / 1024.0);
  return 0;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) { return qz::Run(argc, argv); }
