// qunzhu core/text: the home of text handling that every layer shares. Today: UTF-8 checks and
// cutting; next, the normalisation that moderation, FAQ and keyword matching run before matching
// (NFKC, width, Traditional→Simplified, separators, number words; see the brief's "Text").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qz {

// The offset of the first byte that breaks UTF-8 (an overlong form, a surrogate, a code point
// above U+10FFFF, a stray or truncated sequence), or s.size() when `s` is well-formed.
size_t FirstInvalidUtf8(std::string_view s);
inline bool IsValidUtf8(std::string_view s) { return FirstInvalidUtf8(s) == s.size(); }

// The longest prefix of `s` of at most `max_bytes` that does not cut a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);

// `s` as is when it fits in `max_bytes`, else its Utf8Prefix followed by "…" (for quoting input
// in messages).
std::string Excerpt(std::string_view s, size_t max_bytes);

}  // namespace qz
