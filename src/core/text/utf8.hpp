// qunzhu core/text: the home of text handling that every layer shares. Today: UTF-8 checks and
// cutting; next, the normalisation that moderation, FAQ and keyword matching run before matching
// (NFKC, width, Traditional→Simplified, separators, number words; see the brief's "Text").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qz {

// True when `s` is well-formed UTF-8: no overlong forms, surrogates, code points above
// U+10FFFF or truncated sequences.
bool IsValidUtf8(std::string_view s);

// The longest prefix of `s` of at most `max_bytes` that does not cut a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);

// `s` as is when it fits in `max_bytes`, else its Utf8Prefix followed by "…" (for quoting input
// in messages).
std::string Excerpt(std::string_view s, size_t max_bytes);

}  // namespace qz
