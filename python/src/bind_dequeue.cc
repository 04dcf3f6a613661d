// The dequeue builder's terminal calls for the native module: fetch, poll (wait for
// messages), and handlers (one attempt, or a loop until interrupted / stopped).
//
// Handlers are Python callables invoked from the engine's thread: the GIL is taken for the
// call only. A Python exception from a handler crosses the engine as nanobind's
// python_error, so one-attempt callers see the handler's own exception, unchanged.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <stop_token>

#include "bindings.h"
#include "convert.h"
#include "errors.h"

namespace pgqrs_py {
namespace {

using Millis = std::chrono::milliseconds;

struct LoopOptions {
  std::optional<std::string> queue;
  std::optional<pgqrs::Consumer> consumer;
  std::optional<std::uint32_t> batch;
  std::optional<std::int64_t> vt_s;
  std::optional<std::int64_t> poll_interval_ms;
  std::optional<std::int64_t> until_ms;
  bool until_empty = false;
  StopSource* stop = nullptr;
};

pgqrs::DequeueBuilder builder(const LoopOptions& o) {
  auto b = pgqrs::dequeue();
  if (o.queue) b.from(*o.queue);
  if (o.consumer) b.worker(*o.consumer);
  if (o.batch) b.batch(*o.batch);
  if (o.vt_s) {
    if (*o.vt_s <= 0) {
      throw pgqrs::ValidationError("vt (lease) must be a positive number of seconds (got " +
                                   std::to_string(*o.vt_s) + ")");
    }
    b.with_vt(std::chrono::seconds(*o.vt_s));
  }
  if (o.poll_interval_ms) b.poll_interval(Millis(*o.poll_interval_ms));
  if (o.until_ms) b.until(Millis(*o.until_ms));
  if (o.until_empty) b.until_empty();
  if (o.stop) b.stop_token(o.stop->source.get_token());
  return b;
}

}  // namespace

nb::dict stats_to_py(const pgqrs::PollStats& s) {
  nb::dict d;
  d["processed"] = s.processed;
  d["failed"] = s.failed;
  d["lease_lost"] = s.lease_lost;
  d["batches"] = s.batches;
  d["stop"] = std::string(pgqrs::to_string(s.stop));
  return d;
}

namespace {

pgqrs::DequeueHandler with_handler(const LoopOptions& o, nb::object handler, bool batched) {
  PyRef h(std::move(handler));
  auto b = builder(o);
  if (batched) {
    return b.handle_batch([h](const std::vector<pgqrs::QueueMessage>& msgs) {
      nb::gil_scoped_acquire gil;
      try {
        h.get()(to_py(msgs));
      } catch (nb::python_error& e) {
        rethrow_handler_error(e);
      }
    });
  }
  return b.handle([h](const pgqrs::QueueMessage& msg) {
    nb::gil_scoped_acquire gil;
    try {
      h.get()(to_py(msg));
    } catch (nb::python_error& e) {
      rethrow_handler_error(e);
    }
  });
}

}  // namespace

void bind_dequeue(nb::module_& m) {
  nb::class_<StopSource>(m, "StopSource")
      .def(nb::init<>())
      .def("request_stop", [](StopSource& s) { return s.source.request_stop(); })
      .def_prop_ro("stop_requested", [](const StopSource& s) { return s.source.stop_requested(); });

  nb::class_<LoopOptions>(m, "DequeueOptions")
      .def(nb::init<>())
      .def_rw("queue", &LoopOptions::queue, nb::arg("value").none())
      .def_rw("consumer", &LoopOptions::consumer, nb::arg("value").none())
      .def_rw("batch", &LoopOptions::batch, nb::arg("value").none())
      .def_rw("vt_s", &LoopOptions::vt_s, nb::arg("value").none())
      .def_rw("poll_interval_ms", &LoopOptions::poll_interval_ms, nb::arg("value").none())
      .def_rw("until_ms", &LoopOptions::until_ms, nb::arg("value").none())
      .def_rw("until_empty", &LoopOptions::until_empty)
      .def_rw("stop", &LoopOptions::stop, nb::arg("value").none());

  m.def("fetch_all", [](const pgqrs::Store& s, const LoopOptions& o) {
    auto b = builder(o);
    return to_py(unlocked([&] { return b.fetch_all(s); }));
  });
  m.def("poll_messages", [](const pgqrs::Store& s, const LoopOptions& o) {
    auto b = builder(o);
    return to_py(unlocked([&] { return b.poll(s); }));
  });
  // One attempt: returns whether a message (batch) was processed; the handler's exception
  // is re-raised unchanged after its messages were released with backoff.
  m.def("handle_execute",
        [](const pgqrs::Store& s, const LoopOptions& o, nb::object handler, bool batched) {
          auto h = with_handler(o, std::move(handler), batched);
          return unlocked([&] { return h.execute(s); });
        });
  m.def("handle_poll",
        [](const pgqrs::Store& s, const LoopOptions& o, nb::object handler, bool batched) {
          auto h = with_handler(o, std::move(handler), batched);
          return stats_to_py(unlocked([&] { return h.poll(s); }));
        });
}

}  // namespace pgqrs_py
