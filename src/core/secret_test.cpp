#include "core/secret.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <type_traits>

namespace qz {
namespace {

// A Secret has no formatter and no stream operator: printing one does not compile.
template <typename T, typename = void>
struct Streamable : std::false_type {};
template <typename T>
struct Streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<T>())>>
    : std::true_type {};
static_assert(!Streamable<Secret>::value, "a Secret must not be printable with <<");
static_assert(!fmt::is_formattable<Secret>::value, "a Secret must not be printable with fmt");

struct Read {
  bool ok = false;
  Secret secret;
  Status status;
};

Read ReadFrom(const std::string& text) {
  auto root = ParseToml(text, "s.toml", 1 << 20);
  EXPECT_TRUE(root.ok()) << root.status().ToString();
  ConfigProblems problems("s.toml");
  TableReader r(*root, "p", problems);
  Read out;
  out.ok = ReadSecret(r, "token", out.secret);
  r.Done();
  out.status = problems.ToStatus();
  return out;
}

std::string TempFile(const std::string& content) {
  std::string path = ::testing::TempDir() + fmt::format("secret-{}-{}", getpid(), content.size());
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(ReadSecret, FromTheEnvironment) {
  ::setenv("QZ_TEST_SECRET", "s3cr3t", 1);
  Read r = ReadFrom("token = { env = \"QZ_TEST_SECRET\" }\n");
  ASSERT_TRUE(r.ok) << r.status.ToString();
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.secret.reveal(), "s3cr3t");
}

TEST(ReadSecret, UnsetOrEmptyVariableIsAnErrorNamingIt) {
  ::unsetenv("QZ_TEST_UNSET");
  Read r = ReadFrom("\ntoken = { env = \"QZ_TEST_UNSET\" }\n");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status.field(), "p.token.env");
  EXPECT_NE(r.status.message().find("s.toml:2: p.token.env: the environment variable "
                                    "QZ_TEST_UNSET is not set"),
            std::string::npos)
      << r.status.message();
  ::setenv("QZ_TEST_EMPTY", "", 1);
  r = ReadFrom("token = { env = \"QZ_TEST_EMPTY\" }\n");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.status.message().find("QZ_TEST_EMPTY is empty"), std::string::npos);
}

TEST(ReadSecret, FromAFileWithoutTheTrailingNewline) {
  const std::string path = TempFile("file-secret\n");
  Read r = ReadFrom(fmt::format("token = {{ file = \"{}\" }}\n", path));
  ASSERT_TRUE(r.ok) << r.status.ToString();
  EXPECT_EQ(r.secret.reveal(), "file-secret");
  std::remove(path.c_str());
}

TEST(ReadSecret, MissingEmptyOrOversizedFileIsAnError) {
  Read r = ReadFrom("token = { file = \"/nonexistent/qz-secret\" }\n");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status.field(), "p.token.file");
  EXPECT_NE(r.status.message().find("cannot read the secret file /nonexistent/qz-secret"),
            std::string::npos)
      << r.status.message();

  const std::string big = TempFile(std::string(kMaxSecretFileBytes + 1, 'x'));
  r = ReadFrom(fmt::format("token = {{ file = \"{}\" }}\n", big));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.status.message().find("larger than 65536 bytes"), std::string::npos)
      << r.status.message();
  std::remove(big.c_str());

  const std::string exact = TempFile(std::string(kMaxSecretFileBytes, 'y'));
  r = ReadFrom(fmt::format("token = {{ file = \"{}\" }}\n", exact));
  EXPECT_TRUE(r.ok) << r.status.ToString();
  EXPECT_EQ(r.secret.size(), kMaxSecretFileBytes);
  std::remove(exact.c_str());

  const std::string empty = TempFile("\n");
  r = ReadFrom(fmt::format("token = {{ file = \"{}\" }}\n", empty));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.status.message().find("is empty"), std::string::npos);
  std::remove(empty.c_str());
}

TEST(ReadSecret, LiteralStringIsRefusedWithoutQuotingIt) {
  Read r = ReadFrom("token = \"hunter2\"\n");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status.field(), "p.token");
  EXPECT_NE(r.status.message().find("use { env = \"VARIABLE\" } or { file = "),
            std::string::npos)
      << r.status.message();
  EXPECT_EQ(r.status.message().find("hunter2"), std::string::npos);
}

TEST(ReadSecret, UnknownKeysAndAmbiguousSourcesAreRejected) {
  Read r = ReadFrom("token = { env = \"A\", file = \"/b\" }\n");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.status.message().find("not both"), std::string::npos) << r.status.message();
  r = ReadFrom("token = { value = \"x\" }\n");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.status.message().find("p.token.value: unknown key"), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("p.token: expected { env"), std::string::npos)
      << r.status.message();
}

TEST(ReadSecret, AbsentKeyIsNotAProblem) {
  Read r = ReadFrom("other = 1\n");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.status.message().find("p.other: unknown key"), std::string::npos);
  EXPECT_TRUE(r.secret.empty());
}

}  // namespace
}  // namespace qz
