// qunzhu core: the one error model. Expected failures (bad input, not found, overload) are
// values of Status / Result<T>; exceptions from third-party code are caught at the edge that
// calls it and turned into a Status there.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace qz {

enum class Code {
  kOk = 0,
  kInvalidArgument,   // the caller's input is wrong; `field` names what
  kNotFound,
  kAlreadyExists,
  kUnauthenticated,
  kPermissionDenied,  // authenticated, but the role (or the CSRF token) does not allow it
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kResourceExhausted,  // overloaded or rate-limited; try again later
  kUnavailable,        // a dependency (disk, database) failed; nothing was applied
  kInternal,
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string message, std::string field = {}) {
    return {Code::kInvalidArgument, std::move(message), std::move(field)};
  }
  static Status NotFound(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status Unavailable(std::string message) {
    return {Code::kUnavailable, std::move(message)};
  }
  static Status Internal(std::string message) { return {Code::kInternal, std::move(message)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The input field (JSON key path, CLI flag, config key) the error is about; empty if none.
  const std::string& field() const { return field_; }

  // "field: message" when a field is known, else the message.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace qz

// Propagates a failed Status (or the Status of a failed Result) to the caller.
#define QZ_RETURN_IF_ERROR(expr)            \
  do {                                      \
    auto qz_status_ = (expr);               \
    if (!qz_status_.ok()) return qz_status_; \
  } while (0)

#define QZ_STATUS_CONCAT_INNER(a, b) a##b
#define QZ_STATUS_CONCAT(a, b) QZ_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (a Result<T>); on failure returns its Status to the caller, else moves its
// value into `lhs`, which may be a declaration (`auto x`, `const Foo& y`) or an existing
// variable. Expands to several statements: not for an unbraced if/else branch.
#define QZ_ASSIGN_OR_RETURN(lhs, expr) \
  QZ_ASSIGN_OR_RETURN_IMPL(QZ_STATUS_CONCAT(qz_result_, __LINE__), lhs, expr)
#define QZ_ASSIGN_OR_RETURN_IMPL(result, lhs, expr)    \
  auto result = (expr);                                 \
  if (!result.ok()) return std::move(result).status(); \
  lhs = std::move(result).value()
