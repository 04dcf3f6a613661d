// Producer, Consumer and the enqueue builder call for the native module.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "convert.h"

namespace pgqrs_py {
namespace {

using Seconds = std::chrono::seconds;

template <class W>
void bind_worker_common(nb::class_<W>& c) {
  c.def_prop_ro("id", &W::id)
      .def_prop_ro("name", [](const W& w) { return w.name(); })
      .def_prop_ro("queue", [](const W& w) { return w.queue(); })
      .def_prop_ro("queue_id", &W::queue_id)
      .def("info", [](const W& w) { return to_py(unlocked([&] { return w.info(); })); })
      .def(
          "status", [](const W& w) { return std::string(pgqrs::to_string(w.status())); },
          nb::call_guard<nb::gil_scoped_release>())
      .def("heartbeat", &W::heartbeat, nb::call_guard<nb::gil_scoped_release>())
      .def("suspend", &W::suspend, nb::call_guard<nb::gil_scoped_release>())
      .def("resume", &W::resume, nb::call_guard<nb::gil_scoped_release>())
      .def("shutdown", &W::shutdown, nb::call_guard<nb::gil_scoped_release>());
}

}  // namespace

void bind_workers(nb::module_& m) {
  using P = pgqrs::Producer;
  using C = pgqrs::Consumer;

  nb::class_<P> producer_cls(m, "Producer");
  bind_worker_common(producer_cls);
  producer_cls
      .def("enqueue",
           [](const P& p, nb::handle payload) {
             auto j = to_json(payload, "payload");
             return unlocked([&] { return p.enqueue(j); });
           })
      .def("enqueue_delayed",
           [](const P& p, nb::handle payload, std::int64_t delay_s) {
             auto j = to_json(payload, "payload");
             return unlocked([&] { return p.enqueue_delayed(j, Seconds(delay_s)); });
           })
      .def("batch_enqueue", [](const P& p, nb::handle payloads) {
        auto js = to_json_list(payloads, "payloads");
        return unlocked([&] { return p.batch_enqueue(js); });
      });

  nb::class_<C> consumer_cls(m, "Consumer");
  bind_worker_common(consumer_cls);
  consumer_cls
      .def("dequeue", [](const C& c,
                         std::uint32_t n) { return to_py(unlocked([&] { return c.dequeue(n); })); })
      .def("dequeue_with_vt",
           [](const C& c, std::uint32_t n, std::int64_t vt_s) {
             return to_py(unlocked([&] { return c.dequeue_with_vt(n, Seconds(vt_s)); }));
           })
      .def("dequeue_at",
           [](const C& c, std::uint32_t n, std::int64_t vt_s, std::int64_t now_us) {
             return to_py(
                 unlocked([&] { return c.dequeue_at(n, Seconds(vt_s), from_micros(now_us)); }));
           })
      .def("archive", &C::archive, nb::call_guard<nb::gil_scoped_release>())
      .def("archive_many", &C::archive_many, nb::call_guard<nb::gil_scoped_release>())
      .def("delete_message", &C::delete_message, nb::call_guard<nb::gil_scoped_release>())
      .def("delete_many", &C::delete_many, nb::call_guard<nb::gil_scoped_release>())
      .def(
          "extend_vt",
          [](const C& c, std::int64_t id, std::int64_t s) { return c.extend_vt(id, Seconds(s)); },
          nb::call_guard<nb::gil_scoped_release>())
      .def("release_messages", &C::release_messages, nb::call_guard<nb::gil_scoped_release>())
      .def(
          "release_with_visibility",
          [](const C& c, std::int64_t id, std::int64_t at_us) {
            return c.release_with_visibility(id, from_micros(at_us));
          },
          nb::call_guard<nb::gil_scoped_release>())
      .def("interrupt", &C::interrupt, nb::call_guard<nb::gil_scoped_release>());

  m.def(
      "new_producer",
      [](const pgqrs::Store& s, const std::string& name, const std::string& queue) {
        return pgqrs::producer(name, queue).create(s);
      },
      nb::call_guard<nb::gil_scoped_release>());
  m.def(
      "new_consumer",
      [](const pgqrs::Store& s, const std::string& name, const std::string& queue) {
        return pgqrs::consumer(name, queue).create(s);
      },
      nb::call_guard<nb::gil_scoped_release>());

  // pgqrs::enqueue() in one call: payloads to `queue`, optionally delayed (ms) or at a time
  // (µs since the epoch), optionally as `producer`.
  m.def(
      "enqueue",
      [](const pgqrs::Store& s, std::string queue, nb::handle payloads,
         std::optional<std::int64_t> delay_ms, std::optional<std::int64_t> at_us,
         std::optional<P> producer) {
        auto b = pgqrs::enqueue();
        b.messages(to_json_list(payloads, "payloads")).to(std::move(queue));
        if (delay_ms) b.delay(std::chrono::milliseconds(*delay_ms));
        if (at_us) b.at(from_micros(*at_us));
        if (producer) b.worker(*producer);
        return unlocked([&] { return b.execute(s); });
      },
      nb::arg("store"), nb::arg("queue"), nb::arg("payloads"), nb::arg("delay_ms").none(),
      nb::arg("at_us").none(), nb::arg("producer").none());
}

}  // namespace pgqrs_py
