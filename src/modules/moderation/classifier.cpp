#include "modules/moderation/classifier.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/hash.hpp"
#include "core/text/utf8.hpp"

namespace qz::moderation {

static_assert(std::endian::native == std::endian::little,
              "the model file is little-endian and read by memcpy");

namespace {

// ---------------------------------------------------------------------------------------------
// Features

// Symbols beyond Unicode: the text's start/end, and one per digit-run length class.
constexpr uint32_t kBoundary = 0x110000;
constexpr uint32_t kNumberBase = 0x110001;
constexpr uint32_t kMaxN = 5;
constexpr uint64_t kRawSeed = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kShapeSeed = 0xc2b2ae3d27d4eb4full;
constexpr uint64_t kMul = 0x100000001b3ull * 0xff51afd7ed558ccdull;

inline uint64_t Finalize(uint64_t h) {  // the splitmix64 finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

// Digit runs of 1, 2, 3, 4, 5-6, 7-8, 9-10 and 11+ digits: prices and amounts are short, QQ
// numbers 5-11 digits, phone numbers 11.
inline uint32_t NumberClass(uint32_t run) {
  if (run <= 4) return run - 1;
  if (run <= 10) return 4 + (run - 5) / 2;
  return 7;
}

// The code point at s[i] (advancing i); a byte that does not start a well-formed sequence is
// U+FFFD and advances by one.
inline uint32_t Decode(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 0;
  if (b0 > 0xF4) len = 0;
  if (len == 0 || i + len > s.size() || FirstInvalidUtf8(s.substr(i, len)) != len) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

// The last kMaxN symbols of a stream, newest first.
struct Window {
  uint32_t sym[kMaxN] = {};
  uint32_t size = 0;
  void Push(uint32_t s) {
    for (uint32_t k = kMaxN - 1; k > 0; --k) sym[k] = sym[k - 1];
    sym[0] = s;
    if (size < kMaxN) ++size;
  }
};

// Calls fn(index) for every feature of `text` (an index may repeat). No allocation.
template <typename Fn>
void ForEachFeature(std::string_view text, const FeatureConfig& config, Fn&& fn) {
  const uint64_t mask = (uint64_t{1} << config.hash_bits) - 1;
  const uint32_t n_min = config.ngram_min, n_max = config.ngram_max;
  Window raw, shape;

  auto emit_raw = [&] {
    uint64_t h = kRawSeed;
    for (uint32_t n = 1; n <= n_max && n <= raw.size; ++n) {
      h = (h ^ raw.sym[n - 1]) * kMul;
      if (n < n_min || (n == 1 && raw.sym[0] == kBoundary)) continue;
      fn(static_cast<uint32_t>(Finalize(h + n) & mask));
    }
  };
  // Only the n-grams that contain a digit-run symbol: the others are raw n-grams already.
  auto emit_shape = [&] {
    uint64_t h = kShapeSeed;
    bool has_number = false;
    for (uint32_t n = 1; n <= n_max && n <= shape.size; ++n) {
      h = (h ^ shape.sym[n - 1]) * kMul;
      has_number |= shape.sym[n - 1] >= kNumberBase;
      if (has_number) fn(static_cast<uint32_t>(Finalize(h + n) & mask));
    }
  };
  auto push = [&](uint32_t cp, uint32_t& digit_run) {
    raw.Push(cp);
    emit_raw();
    if (!config.number_shapes) return;
    if (cp >= '0' && cp <= '9') {
      ++digit_run;
      return;
    }
    if (digit_run > 0) {
      shape.Push(kNumberBase + NumberClass(digit_run));
      emit_shape();
      digit_run = 0;
    }
    shape.Push(cp);
    emit_shape();
  };

  uint32_t digit_run = 0;
  push(kBoundary, digit_run);
  for (size_t i = 0; i < text.size();) push(Decode(text, i), digit_run);
  push(kBoundary, digit_run);
}

inline double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// ---------------------------------------------------------------------------------------------
// File format

constexpr char kMagic[8] = {'Q', 'Z', 'S', 'P', 'A', 'M', '1', '\n'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 48;
constexpr size_t kChecksumBytes = 8;
constexpr uint32_t kFlagNumberShapes = 1;
constexpr float kMaxAbsValue = 1e4f;

template <typename T>
void Put(std::string& out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(T));
}
template <typename T>
T Get(std::string_view in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

Status FeatureConfigError(const FeatureConfig& c, std::string_view prefix) {
  if (c.hash_bits < 10 || c.hash_bits > 24) {
    return Status::Invalid(fmt::format("{}hash bits {} out of range [10, 24]", prefix, c.hash_bits),
                           "hash_bits");
  }
  if (c.ngram_min < 1 || c.ngram_max > kMaxN || c.ngram_min > c.ngram_max) {
    return Status::Invalid(fmt::format("{}n-gram range [{}, {}] out of range (1 <= min <= max <= {})",
                                       prefix, c.ngram_min, c.ngram_max, kMaxN),
                           "ngram");
  }
  return Status::Ok();
}

bool InRange(float v) { return std::isfinite(v) && std::fabs(v) <= kMaxAbsValue; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// ReadLabels

LabelsFile ReadLabels(std::string_view content, std::string_view source) {
  LabelsFile out;
  if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    const size_t number = ++out.lines;
    if (line.ends_with('\r')) line.remove_suffix(1);
    auto problem = [&](std::string_view why) {
      out.problems.push_back(fmt::format("{}:{}: {}", source, number, why));
    };
    if (line.size() > kMaxLabelLineBytes) {
      problem(fmt::format("line of {} bytes is longer than {}", line.size(), kMaxLabelLineBytes));
      continue;
    }
    if (size_t bad = FirstInvalidUtf8(line); bad != line.size()) {
      problem(fmt::format("invalid UTF-8 at byte {}", bad + 1));
      continue;
    }
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      problem(line.empty() ? "empty line" : "no tab between the label and the text");
      continue;
    }
    std::string_view label = line.substr(0, tab), text = line.substr(tab + 1);
    std::string lower(label);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (number == 1 && lower == "label") continue;
    bool spam;
    if (lower == "1" || lower == "spam") {
      spam = true;
    } else if (lower == "0" || lower == "ham") {
      spam = false;
    } else {
      problem(fmt::format("label \"{}\" is not one of 1, 0, spam, ham", Excerpt(label, 32)));
      continue;
    }
    if (text.find_first_not_of(" \t") == std::string_view::npos) {
      problem("empty text");
      continue;
    }
    out.rows.push_back({spam, std::string(text)});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SpamModel

SpamModel::SpamModel(FeatureConfig config, float bias, float suggested_threshold,
                     std::vector<float> weights)
    : config_(config),
      bias_(bias),
      suggested_threshold_(suggested_threshold),
      weights_(std::move(weights)) {}

double SpamModel::Score(std::string_view normalised_text) const {
  double sum = 0;
  uint32_t count = 0;
  const float* w = weights_.data();
  ForEachFeature(normalised_text, config_, [&](uint32_t index) {
    sum += w[index];
    ++count;
  });
  const double z = count == 0 ? bias_ : bias_ + sum / std::sqrt(static_cast<double>(count));
  return Sigmoid(z);
}

std::string SpamModel::Serialize() const {
  std::string out(kHeaderBytes + weights_.size() * sizeof(float) + kChecksumBytes, '\0');
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  Put<uint32_t>(out, 8, kVersion);
  Put<uint32_t>(out, 12, config_.hash_bits);
  Put<uint32_t>(out, 16, config_.ngram_min);
  Put<uint32_t>(out, 20, config_.ngram_max);
  Put<uint32_t>(out, 24, config_.number_shapes ? kFlagNumberShapes : 0);
  Put<float>(out, 28, bias_);
  Put<float>(out, 32, suggested_threshold_);
  Put<uint32_t>(out, 36, 0);
  Put<uint64_t>(out, 40, weights_.size());
  std::memcpy(out.data() + kHeaderBytes, weights_.data(), weights_.size() * sizeof(float));
  const size_t body = out.size() - kChecksumBytes;
  Put<uint64_t>(out, body, Fnv1a64(std::string_view(out).substr(0, body)));
  return out;
}

Result<std::shared_ptr<const SpamModel>> SpamModel::Parse(std::string_view bytes,
                                                          std::string_view source) {
  auto fail = [&](std::string why) {
    return Status::Invalid(fmt::format("{}: not a usable spam model: {}", source, why));
  };
  if (bytes.size() > kMaxFileBytes) {
    return fail(fmt::format("{} bytes is more than the limit of {}", bytes.size(), kMaxFileBytes));
  }
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return fail("it does not start with the magic \"QZSPAM1\"");
  }
  if (bytes.size() < kHeaderBytes + kChecksumBytes) {
    return fail(fmt::format("truncated: {} bytes, the header alone takes {}", bytes.size(),
                            kHeaderBytes + kChecksumBytes));
  }
  if (uint32_t v = Get<uint32_t>(bytes, 8); v != kVersion) {
    return fail(fmt::format("format version {}; this build reads version {}", v, kVersion));
  }
  FeatureConfig config{.hash_bits = Get<uint32_t>(bytes, 12),
                       .ngram_min = Get<uint32_t>(bytes, 16),
                       .ngram_max = Get<uint32_t>(bytes, 20)};
  if (Status st = FeatureConfigError(config, ""); !st.ok()) return fail(st.message());
  const uint32_t flags = Get<uint32_t>(bytes, 24);
  if ((flags & ~kFlagNumberShapes) != 0) return fail(fmt::format("unknown flags {:#x}", flags));
  config.number_shapes = (flags & kFlagNumberShapes) != 0;
  const float bias = Get<float>(bytes, 28), threshold = Get<float>(bytes, 32);
  if (!InRange(bias)) return fail(fmt::format("bias {} out of range", bias));
  if (!(threshold > 0 && threshold < 1)) {
    return fail(fmt::format("suggested threshold {} not in (0, 1)", threshold));
  }
  if (Get<uint32_t>(bytes, 36) != 0) return fail("reserved header field is not zero");
  const uint64_t count = Get<uint64_t>(bytes, 40);
  if (count != (uint64_t{1} << config.hash_bits)) {
    return fail(fmt::format("{} weights for {} hash bits (expected {})", count, config.hash_bits,
                            uint64_t{1} << config.hash_bits));
  }
  const size_t expected = kHeaderBytes + count * sizeof(float) + kChecksumBytes;
  if (bytes.size() != expected) {
    return fail(fmt::format("{}: {} bytes, expected {}",
                            bytes.size() < expected ? "truncated" : "trailing bytes",
                            bytes.size(), expected));
  }
  const size_t body = expected - kChecksumBytes;
  if (Get<uint64_t>(bytes, body) != Fnv1a64(bytes.substr(0, body))) {
    return fail("checksum mismatch (the file is corrupt)");
  }
  std::vector<float> weights(count);
  std::memcpy(weights.data(), bytes.data() + kHeaderBytes, count * sizeof(float));
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!InRange(weights[i])) return fail(fmt::format("weight {} is {}", i, weights[i]));
  }
  return std::shared_ptr<const SpamModel>(
      std::make_shared<SpamModel>(config, bias, threshold, std::move(weights)));
}

Result<std::shared_ptr<const SpamModel>> SpamModel::Load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound(fmt::format("{}: cannot open the spam model: {}", path,
                                        std::strerror(errno)));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    return Status::Invalid(fmt::format("{}: not a usable spam model: {} bytes is more than the "
                                       "limit of {}", path, st.st_size, kMaxFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open the spam model", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::Unavailable(fmt::format("{}: read error", path));
  return Parse(buffer.view(), path);
}

// ---------------------------------------------------------------------------------------------
// Training

Status Validate(const TrainOptions& o) {
  QZ_RETURN_IF_ERROR(FeatureConfigError(o.features, ""));
  if (o.epochs < 1 || o.epochs > 100) {
    return Status::Invalid(fmt::format("epochs {} not in [1, 100]", o.epochs), "epochs");
  }
  if (!(o.learning_rate > 0 && o.learning_rate <= 10)) {
    return Status::Invalid(fmt::format("learning rate {} not in (0, 10]", o.learning_rate),
                           "learning_rate");
  }
  if (!(o.l2 >= 0 && o.l2 < 1)) {
    return Status::Invalid(fmt::format("l2 {} not in [0, 1)", o.l2), "l2");
  }
  if (!(o.spam_weight > 0 && o.spam_weight <= 100)) {
    return Status::Invalid(fmt::format("spam weight {} not in (0, 100]", o.spam_weight),
                           "spam_weight");
  }
  if (!(o.suggested_threshold > 0 && o.suggested_threshold < 1)) {
    return Status::Invalid(fmt::format("threshold {} not in (0, 1)", o.suggested_threshold),
                           "threshold");
  }
  return Status::Ok();
}

namespace {

// Every example's distinct features with their values (count / sqrt(total), as Score weighs
// them), flattened.
struct FeatureMatrix {
  std::vector<uint32_t> index;
  std::vector<float> value;
  std::vector<size_t> begin;  // example i is [begin[i], begin[i + 1])
};

FeatureMatrix Extract(std::span<const LabelledText> examples, const FeatureConfig& config) {
  FeatureMatrix m;
  m.begin.reserve(examples.size() + 1);
  std::vector<uint32_t> scratch;
  for (const LabelledText& e : examples) {
    m.begin.push_back(m.index.size());
    scratch.clear();
    ForEachFeature(e.text, config, [&](uint32_t i) { scratch.push_back(i); });
    std::sort(scratch.begin(), scratch.end());
    const float scale = scratch.empty() ? 0.f : 1.f / std::sqrt(static_cast<float>(scratch.size()));
    for (size_t i = 0; i < scratch.size();) {
      size_t j = i;
      while (j < scratch.size() && scratch[j] == scratch[i]) ++j;
      m.index.push_back(scratch[i]);
      m.value.push_back(static_cast<float>(j - i) * scale);
      i = j;
    }
  }
  m.begin.push_back(m.index.size());
  return m;
}

// splitmix64: a tiny generator whose sequence is the same on every platform (std::shuffle's is
// not specified).
struct SplitMix {
  uint64_t state;
  uint64_t Next() { return Finalize(state += 0x9e3779b97f4a7c15ull); }
};

}  // namespace

Result<std::shared_ptr<const SpamModel>> Train(std::span<const LabelledText> examples,
                                               const TrainOptions& options) {
  QZ_RETURN_IF_ERROR(Validate(options));
  size_t spam = 0;
  for (const LabelledText& e : examples) spam += e.spam ? 1 : 0;
  if (spam == 0 || spam == examples.size()) {
    return Status::Invalid(fmt::format("training needs examples of both classes; got {} spam and "
                                       "{} not spam", spam, examples.size() - spam));
  }
  const FeatureMatrix m = Extract(examples, options.features);
  const size_t table = size_t{1} << options.features.hash_bits;
  std::vector<float> w(table, 0.f), g2(table, 0.f);
  double bias = 0, bias_g2 = 0;
  constexpr double kEps = 1e-6;
  const double lr = options.learning_rate, l2 = options.l2;

  std::vector<uint32_t> order(examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  SplitMix rng{options.seed};
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Next() % i]);
    double loss = 0;
    for (uint32_t ex : order) {
      const size_t b = m.begin[ex], e = m.begin[ex + 1];
      double z = bias;
      for (size_t k = b; k < e; ++k) z += w[m.index[k]] * m.value[k];
      const double p = Sigmoid(z);
      const bool y = examples[ex].spam;
      const double weight = y ? options.spam_weight : 1.0;
      loss -= weight * std::log(std::clamp(y ? p : 1 - p, 1e-15, 1.0));
      const double g = weight * (p - (y ? 1.0 : 0.0));
      for (size_t k = b; k < e; ++k) {
        const uint32_t j = m.index[k];
        const double grad = g * m.value[k] + l2 * w[j];
        g2[j] += static_cast<float>(grad * grad);
        w[j] -= static_cast<float>(lr * grad / (std::sqrt(static_cast<double>(g2[j])) + kEps));
      }
      bias_g2 += g * g;
      bias -= lr * g / (std::sqrt(bias_g2) + kEps);
    }
    if (options.progress) {
      options.progress({.epoch = epoch,
                        .epochs = options.epochs,
                        .mean_log_loss = loss / static_cast<double>(examples.size())});
    }
  }
  for (float& v : w) v = std::clamp(v, -kMaxAbsValue, kMaxAbsValue);
  return std::shared_ptr<const SpamModel>(std::make_shared<SpamModel>(
      options.features, static_cast<float>(std::clamp(bias, -1e4, 1e4)),
      static_cast<float>(options.suggested_threshold), std::move(w)));
}

// ---------------------------------------------------------------------------------------------
// Evaluation

void Confusion::Add(bool spam, bool predicted_spam) {
  if (spam) {
    ++(predicted_spam ? tp : fn);
  } else {
    ++(predicted_spam ? fp : tn);
  }
}

namespace {
double Ratio(int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; }
}  // namespace

double Confusion::precision() const { return Ratio(tp, tp + fp); }
double Confusion::recall() const { return Ratio(tp, tp + fn); }
double Confusion::false_positive_rate() const { return Ratio(fp, fp + tn); }
double Confusion::f1() const {
  const double p = precision(), r = recall();
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}

Confusion Evaluate(const SpamModel& model, std::span<const LabelledText> examples,
                   double threshold) {
  Confusion c;
  for (const LabelledText& e : examples) c.Add(e.spam, model.Score(e.text) >= threshold);
  return c;
}

}  // namespace qz::moderation
