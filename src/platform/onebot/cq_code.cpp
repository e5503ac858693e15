#include "platform/onebot/cq_code.hpp"

#include <optional>

namespace qz::onebot {
namespace {

constexpr std::string_view kCodeStart = "[CQ:";

bool IsTypeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

std::string Escape(std::string_view s, bool comma) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '[':
        out += "&#91;";
        break;
      case ']':
        out += "&#93;";
        break;
      case ',':
        if (comma) {
          out += "&#44;";
          break;
        }
        [[fallthrough]];
      default:
        out += c;
    }
  }
  return out;
}

// One pass, so "&amp;#91;" becomes "&#91;" and not "[" (replacing entity by entity would need
// the reverse order of escaping to get that right).
std::string Unescape(std::string_view s, bool comma) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      const std::string_view rest = s.substr(i);
      if (rest.starts_with("&amp;")) {
        out += '&';
        i += 4;
        continue;
      }
      if (rest.starts_with("&#91;")) {
        out += '[';
        i += 4;
        continue;
      }
      if (rest.starts_with("&#93;")) {
        out += ']';
        i += 4;
        continue;
      }
      if (comma && rest.starts_with("&#44;")) {
        out += ',';
        i += 4;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// The code between "[CQ:" and "]" ("at,qq=123"), or nullopt when it is not well-formed.
std::optional<CqSegment> ParseCode(std::string_view body) {
  CqSegment seg;
  size_t comma = body.find(',');
  const std::string_view type = body.substr(0, comma);
  if (type.empty()) return std::nullopt;
  for (const char c : type) {
    if (!IsTypeChar(c)) return std::nullopt;
  }
  seg.type.assign(type);
  while (comma != std::string_view::npos) {
    const size_t start = comma + 1;
    comma = body.find(',', start);
    const std::string_view param = body.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    seg.data.emplace(std::string(param.substr(0, eq)), Unescape(param.substr(eq + 1), true));
  }
  return seg;
}

}  // namespace

std::string_view CqSegment::Get(std::string_view key) const {
  const auto it = data.find(key);
  return it == data.end() ? std::string_view() : std::string_view(it->second);
}

std::string EscapeCqText(std::string_view text) { return Escape(text, false); }
std::string EscapeCqParam(std::string_view value) { return Escape(value, true); }
std::string UnescapeCqText(std::string_view text) { return Unescape(text, false); }
std::string UnescapeCqParam(std::string_view value) { return Unescape(value, true); }

std::vector<CqSegment> ParseCq(std::string_view s) {
  std::vector<CqSegment> out;
  auto append_text = [&](std::string text) {
    if (text.empty()) return;
    if (!out.empty() && out.back().type == "text") {
      out.back().data["text"] += text;
    } else {
      out.push_back({"text", {{"text", std::move(text)}}});
    }
  };
  auto flush_text = [&](std::string_view raw) { append_text(UnescapeCqText(raw)); };
  size_t text_start = 0;  // start of the text not yet flushed
  size_t pos = 0;         // where to look for the next code
  size_t close = 0;       // the first ']' at or after the current candidate (cached: linear time)
  while (true) {
    const size_t open = s.find(kCodeStart, pos);
    if (open == std::string_view::npos) break;
    if (close < open + kCodeStart.size()) close = s.find(']', open + kCodeStart.size());
    if (close == std::string_view::npos) break;  // unterminated: the rest is text
    // A '[' before the ']' means this candidate is not a code (a real '[' is escaped); the
    // search goes on from that '[', which may start one.
    const size_t inner = s.substr(0, close).find('[', open + 1);
    if (inner != std::string_view::npos) {
      pos = inner;
      continue;
    }
    const size_t body = open + kCodeStart.size();
    if (std::optional<CqSegment> code = ParseCode(s.substr(body, close - body))) {
      flush_text(s.substr(text_start, open - text_start));
      if (code->type == "text") {
        append_text(std::string(code->Get("text")));  // never a code of its own (the spec)
      } else {
        out.push_back(std::move(*code));
      }
      text_start = close + 1;
    }
    pos = close + 1;
  }
  flush_text(s.substr(text_start));
  return out;
}

std::string ToCq(const std::vector<CqSegment>& segments) {
  std::string out;
  for (const CqSegment& seg : segments) {
    if (seg.type == "text") {
      out += EscapeCqText(seg.Get("text"));
      continue;
    }
    out += kCodeStart;
    out += seg.type;
    for (const auto& [key, value] : seg.data) {
      out += ',';
      out += key;
      out += '=';
      out += EscapeCqParam(value);
    }
    out += ']';
  }
  return out;
}

}  // namespace qz::onebot
