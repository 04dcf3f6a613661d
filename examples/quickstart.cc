// The README's quickstart, compiled (and run by ctest) so it cannot drift from the API.
#include <iostream>

#include <pgqrs/pgqrs.h>

int main() {
  // sqlite::memory: for a throwaway run; sqlite:///path/app.db or postgresql://... to keep jobs.
  pgqrs::Store store = pgqrs::connect("sqlite::memory:");
  pgqrs::admin(store).install();  // create or upgrade the schema (idempotent)
  store.queue("emails");

  pgqrs::enqueue().message({{"to", "ada@example.com"}}).to("emails").execute(store);

  // Lease one message and run the handler: archived if it returns; if it throws, the
  // message is released with backoff for a retry and the exception is rethrown.
  pgqrs::dequeue()
      .from("emails")
      .handle([](const pgqrs::QueueMessage& msg) {
        std::cout << "sending to " << msg.payload["to"].get<std::string>() << '\n';
      })
      .execute(store);
}
