// qunzhu platform/onebot: CQ codes, OneBot v11's string form of a message
// ("hi[CQ:at,qq=123] &#91;x&#93;"): parsing into segments, escaping, and writing segments back.
// Pure functions, thread-safe; parsing never fails: what is not a well-formed code stays text.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qz::onebot {

// One message segment, as in the array form {"type":"at","data":{"qq":"123"}}. Plain text is a
// segment of type "text" whose data has the one key "text" (unescaped).
struct CqSegment {
  std::string type;
  std::map<std::string, std::string, std::less<>> data;

  std::string_view Get(std::string_view key) const;  // "" when absent
  friend bool operator==(const CqSegment&, const CqSegment&) = default;
};

// Splits a string-form message into its segments, in order.
//  - A code is "[CQ:" type ("," key "=" value)* "]": the type is [A-Za-z0-9_.-]+; each parameter
//    is split at its first '='; keys are non-empty and kept as written; values are unescaped
//    (&amp; &#91; &#93; &#44;). A key given twice keeps its first value. A code of type "text"
//    is taken as its "text" value (text is never a code of its own).
//  - Text outside codes is unescaped (&amp; &#91; &#93;; other '&' sequences stay as written).
//  - Anything else that starts with "[CQ:" (no closing ']', an empty or odd type, a parameter
//    without '=' or with an empty key, a '[' before the closing ']') is text, as a client would
//    show it. Adjacent text is one segment; no text segment is empty.
// Linear in the input's size.
std::vector<CqSegment> ParseCq(std::string_view message);

// Escaping for the string form: text gets & [ ] escaped (&amp; &#91; &#93;), a code's parameter
// value also ',' (&#44;). Unescaping is one left-to-right pass, the exact inverse.
std::string EscapeCqText(std::string_view text);
std::string EscapeCqParam(std::string_view value);
std::string UnescapeCqText(std::string_view text);
std::string UnescapeCqParam(std::string_view value);

// The string form of `segments`: "text" segments as escaped text, the others as codes with
// escaped values (keys in sorted order). For anything ParseCq returned,
// ParseCq(ToCq(segments)) == segments.
std::string ToCq(const std::vector<CqSegment>& segments);

}  // namespace qz::onebot
