// qunzhu engine: KeyedRows, the writer state's table of rows found by key (identities,
// memberships). Rows live in a deque (addresses stay valid as rows are added, so the dirty
// list and an event's resolved references may point at them) and are found through an
// open-addressing index of (64-bit key hash, position): a look-up touches the index slot and
// the row, with no per-row allocation and no node chain to walk. Rows are never removed.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string_view>
#include <vector>

namespace qz {

// Mixes 64 bits so that keys differing in a few bits land far apart (splitmix64's finaliser).
constexpr uint64_t MixHash(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Combines a hash with one more part of a key.
inline uint64_t HashCombine(uint64_t seed, std::string_view part) {
  return MixHash(seed ^ (std::hash<std::string_view>{}(part) + 0x9e3779b97f4a7c15ULL));
}

// Thread-compatible.
template <typename Row>
class KeyedRows {
 public:
  // A row with its dirty mark (the owner's flush bookkeeping).
  struct Slot {
    Row row;
    bool dirty = false;
  };

  void Reserve(size_t rows) {
    if (rows * 2 > index_.size()) Rehash(std::bit_ceil(rows * 2));
  }
  size_t size() const { return rows_.size(); }

  // The slot whose row `equal` accepts among those stored with `hash`; null if none.
  template <typename Equal>
  Slot* Find(uint64_t hash, Equal equal) {
    const uint32_t position = Position(hash, equal);
    return position == 0 ? nullptr : &rows_[position - 1];
  }
  template <typename Equal>
  const Slot* Find(uint64_t hash, Equal equal) const {
    const uint32_t position = Position(hash, equal);
    return position == 0 ? nullptr : &rows_[position - 1];
  }

  // Adds a row whose key is not present yet (the caller checked with Find).
  Slot& Insert(uint64_t hash, Row row) {
    if ((rows_.size() + 1) * 2 > index_.size()) Rehash(std::max<size_t>(16, index_.size() * 2));
    rows_.push_back(Slot{std::move(row), false});
    Place(hash, static_cast<uint32_t>(rows_.size()));
    return rows_.back();
  }

  // In insertion order.
  auto begin() const { return rows_.begin(); }
  auto end() const { return rows_.end(); }

 private:
  struct Entry {
    uint64_t hash = 0;
    uint32_t position = 0;  // index in rows_ + 1; 0: empty
  };

  // The position (index + 1) of the row `equal` accepts among those with `hash`; 0 if none.
  template <typename Equal>
  uint32_t Position(uint64_t hash, Equal& equal) const {
    if (index_.empty()) return 0;
    const size_t mask = index_.size() - 1;
    for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
      const Entry& e = index_[i];
      if (e.position == 0) return 0;
      if (e.hash == hash && equal(rows_[e.position - 1].row)) return e.position;
    }
  }

  void Place(uint64_t hash, uint32_t position) {
    const size_t mask = index_.size() - 1;
    size_t i = static_cast<size_t>(hash) & mask;
    while (index_[i].position != 0) i = (i + 1) & mask;
    index_[i] = Entry{hash, position};
  }

  void Rehash(size_t capacity) {  // a power of two, at least twice the rows
    std::vector<Entry> old(capacity);
    old.swap(index_);
    for (const Entry& e : old) {
      if (e.position != 0) Place(e.hash, e.position);
    }
  }

  std::deque<Slot> rows_;
  std::vector<Entry> index_;  // load factor at most 1/2, so probes stay short
};

}  // namespace qz
