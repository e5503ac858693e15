#include "app/ingest_sink.hpp"

#include <string>
#include <utility>

#include "model/event.hpp"

namespace qz {

void IngestSink::Submit(std::vector<Event> events, Done done) {
  // One parser per submitting thread (a parser is not thread-safe; adapters' threads are few).
  thread_local EventParser parser;
  std::vector<std::string> json;
  json.reserve(events.size());
  for (const Event& e : events) json.push_back(EventToJson(e));
  std::vector<RawItem> items;
  items.reserve(json.size());
  for (const std::string& j : json) items.push_back({j, Status::Ok()});
  IngestBatch batch = ParseBatch(items, parser);
  ingest_.Submit(std::move(batch), [done = std::move(done)](IngestResult r) {
    SinkResult result;
    result.status = std::move(r.status);
    result.accepted = r.accepted;
    result.duplicates = r.duplicates;
    result.rejected.reserve(r.rejected.size());
    for (ItemError& e : r.rejected) result.rejected.push_back({e.index, std::move(e.error)});
    done(std::move(result));
  });
}

}  // namespace qz
