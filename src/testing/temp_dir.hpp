// qunzhu testing: a fresh temporary directory per test. Test code only.
#pragma once

#include <string>

namespace qz::testing {

// A fresh directory under $TMPDIR (mkdtemp), removed with everything in it on destruction (its
// permissions restored first, so a test may make it read-only). Aborts if none can be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "qz-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace qz::testing
