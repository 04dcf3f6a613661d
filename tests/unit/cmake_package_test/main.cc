// Uses an installed pgqrs through find_package: connect, install the schema, one round trip.
#include <cstdint>
#include <iostream>
#include <vector>

#include <pgqrs/pgqrs.h>

int main() {
  try {
    const pgqrs::Store store = pgqrs::connect("sqlite::memory:");
    pgqrs::admin(store).install();
    store.queue("package_test");
    const std::vector<std::int64_t> ids =
        pgqrs::enqueue().message({{"ok", true}}).to("package_test").execute(store);
    const auto msg = pgqrs::dequeue().from("package_test").fetch_one(store);
    if (ids.size() != 1 || !msg || msg->id != ids[0] || msg->payload.at("ok") != true) {
      std::cerr << "consumer: enqueued message did not come back\n";
      return 1;
    }
    std::cout << "consumer: pgqrs via find_package works (backend " << store.backend_name()
              << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "consumer: " << e.what() << '\n';
    return 1;
  }
}
