// qz_event_parse_bench: the per-event CPU cost on the ingest path (parse, validate, write the
// canonical form) against a general-purpose JSON library on the same lines, in the same run.
//
//   BM_QzParse               EventParser::Parse (simdjson underneath, plus validation)
//   BM_QzParseAndCanonical   EventParser::Parse + EventToJson (what ParseBatch does per event)
//   BM_NlohmannParse         nlohmann::json::parse of the same line (baseline: no validation)
//   BM_NlohmannParseDump     nlohmann::json::parse + dump (baseline for parse + re-serialise)
//
// Lines: --events=FILE (NDJSON, the first 20000 lines; bench/run.sh passes the demo file), or a
// built-in mix of message, join, order and tag events. Other flags go to Google Benchmark.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/event.hpp"

namespace {

std::vector<std::string>& Lines() {
  static std::vector<std::string> lines;
  return lines;
}

void BuiltInLines() {
  const char* samples[] = {
      R"({"id":"sandbox:m:1001","type":"message","time":"2026-03-01T08:00:00+08:00","platform":"sandbox","group":"camp-1","member":"u42","name":"小明","kind":"text","text":"请问几点开课？今天的作业我已经交了，老师辛苦了"})",
      R"({"id":"sandbox:m:1002","type":"message","time":"2026-03-01T08:00:05.123+08:00","platform":"sandbox","group":"camp-1","member":"u43","name":"Alice","kind":"text","text":"same question","reply_to":"sandbox:m:1001","mentions":["u42"]})",
      R"({"id":"sandbox:j:77","type":"member_joined","time":"2026-03-01T07:59:00+08:00","platform":"sandbox","group":"camp-1","group_name":"7天成长营 1群","member":"u44","name":"新同学","via":{"inviter":"u42","code":"poster-a"}})",
      R"({"id":"shop:o:5","type":"order","time":"2026-03-02T20:15:00Z","platform":"shop","community":"camp","member":"u42","amount":"199.9","currency":"CNY","product":"7天成长营 进阶班"})",
      R"({"id":"sandbox:t:9","type":"tag_changed","time":"2026-03-02T21:00:00+08:00","platform":"sandbox","member":"u43","tag":"高意向","op":"add"})",
      R"({"id":"sandbox:c:3","type":"checkin","time":"2026-03-03T06:30:00+08:00","platform":"sandbox","group":"camp-1","member":"u44","text":"Day 3 打卡：早起跑步 5km","streak":3})",
  };
  for (const char* s : samples) Lines().emplace_back(s);
}

void BM_QzParse(benchmark::State& state) {
  qz::EventParser parser;
  const auto& lines = Lines();
  size_t i = 0;
  for (auto _ : state) {
    auto event = parser.Parse(lines[i]);
    if (!event.ok()) state.SkipWithError(event.status().ToString().c_str());
    benchmark::DoNotOptimize(event);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QzParse);

void BM_QzParseAndCanonical(benchmark::State& state) {
  qz::EventParser parser;
  const auto& lines = Lines();
  size_t i = 0;
  for (auto _ : state) {
    auto event = parser.Parse(lines[i]);
    if (!event.ok()) {
      state.SkipWithError(event.status().ToString().c_str());
      break;
    }
    std::string json = qz::EventToJson(*event);
    benchmark::DoNotOptimize(json);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QzParseAndCanonical);

void BM_NlohmannParse(benchmark::State& state) {
  const auto& lines = Lines();
  size_t i = 0;
  for (auto _ : state) {
    auto j = nlohmann::json::parse(lines[i]);
    benchmark::DoNotOptimize(j);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NlohmannParse);

void BM_NlohmannParseDump(benchmark::State& state) {
  const auto& lines = Lines();
  size_t i = 0;
  for (auto _ : state) {
    std::string out = nlohmann::json::parse(lines[i]).dump();
    benchmark::DoNotOptimize(out);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NlohmannParseDump);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--events=", 9) == 0) {
      std::ifstream in(argv[i] + 9);
      if (!in) {
        std::fprintf(stderr, "cannot open %s\n", argv[i] + 9);
        return 2;
      }
      std::string line;
      while (Lines().size() < 20000 && std::getline(in, line)) {
        if (!line.empty()) Lines().push_back(line);
      }
    } else {
      args.push_back(argv[i]);
    }
  }
  if (Lines().empty()) BuiltInLines();
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::AddCustomContext("events", std::to_string(Lines().size()) + " distinct lines");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
