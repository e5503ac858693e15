// bench: the message corpora benchmarks read (../shared/data, never copied into the repository),
// and what else several benchmarks share.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace qz::bench {

// One message a line: "label<TAB>text" files (ads-zh-game/train.txt; a first line starting
// "label<TAB>" is a header) give the text after the tab, other lines are the message as they are.
// Empty lines are skipped. A file that cannot be read gives nothing.
inline std::vector<std::string> LoadCorpus(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.starts_with("label\t")) continue;
    const size_t tab = line.find('\t');
    out.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
  }
  return out;
}

// This process's resident memory now, in KiB (Linux).
inline long RssKb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  in >> pages >> resident;
  return resident * 4;
}

}  // namespace qz::bench
