// POST /api/v1/events: a batch of canonical events (a JSON array or NDJSON).
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ingest.hpp"
#include "model/event.hpp"
#include "server/routes/routes.hpp"

namespace qz {
namespace {

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

ApiJson RejectedJson(const std::vector<ItemError>& rejected) {
  ApiJson out = ApiJson::array();
  for (const ItemError& r : rejected) {
    ApiJson item = {{"index", r.index}, {"error", r.error.ToString()}};
    if (!r.error.field().empty()) item["field"] = r.error.field();
    out.push_back(std::move(item));
  }
  return out;
}

ApiResponse IngestResponse(const IngestResult& r) {
  if (!r.status.ok()) return ErrorResponse(r.status);
  return JsonResponse(200, {{"accepted", r.accepted},
                            {"duplicates", r.duplicates},
                            {"rejected", RejectedJson(r.rejected)}});
}

// Splitting and parsing run on the I/O thread; the answer comes from the ingest writer once the
// batch is durable.
Status PostEvents(Call& c, std::atomic<int64_t>& rejected_without_ingest) {
  const std::string media = c.MediaType();
  const bool ndjson = media == "application/x-ndjson";
  if (!ndjson && media != "application/json") {
    return Status(Code::kUnsupportedMediaType,
                  "Content-Type must be application/json (an array of events) or "
                  "application/x-ndjson (one event a line)");
  }
  const std::string_view body = c.body();
  const Status no_events = Status::Invalid("no events", "body");
  if (IsBlank(body)) return no_events;
  std::vector<RawItem> items;
  if (ndjson) {
    items = SplitNdjson(body);
  } else {
    auto split = SplitJsonArray(body);
    if (!split.ok()) return split.status();
    items = std::move(*split);
  }
  if (items.empty()) return no_events;

  thread_local EventParser parser;  // one per I/O thread (EventParser is thread-compatible)
  IngestBatch batch = ParseBatch(items, parser);
  items.clear();
  std::string().swap(c.body());  // the batch owns copies; free the body while we wait

  if (batch.events.empty()) {
    // Nothing to make durable: answer now rather than queue an empty commit.
    rejected_without_ingest.fetch_add(static_cast<int64_t>(batch.rejected.size()),
                                      std::memory_order_relaxed);
    IngestResult r;
    r.rejected = std::move(batch.rejected);
    c.Respond(IngestResponse(r));
    return Status::Ok();
  }
  c.ingest().Submit(std::move(batch), c.AnswerWhenDone<IngestResult>(IngestResponse));
  return Status::Ok();
}

}  // namespace

Status AddEventRoutes(RouteTable& table, std::atomic<int64_t>& rejected_without_ingest) {
  return table.Add({"POST", "/api/v1/events", [&rejected_without_ingest](Call& c) {
                      return PostEvents(c, rejected_without_ingest);
                    }});
}

}  // namespace qz
