// store_redis_record_test.cpp — the batch record the Redis apply script writes to inboxes and its
// receipt (redis_schema.hpp): what each line becomes, and that anything else is a store_error.
#include "store/redis_schema.hpp"

#include <doctest/doctest.h>

#include <string>

namespace rs = dh::store::redis_schema;

TEST_CASE("redis record: a batch record decodes to its events, views, statistics and epoch") {
  const std::string record =
      "w 12 1700000000000000\n"
      "a \"t 1\"\n"
      "t {\"id\":\"t 1\",\"title\":\"two words\"}\n"
      "u alice 1700000000000004 created\n"
      "u bob 1700000000000009 deleted\n"
      "i 42\n"
      "a 7\n"
      "t {\"id\":7}\n"
      "u alice 1700000000000005 updated\n"
      "s alice 3 -1 1764000000000 1700000000000005\n"
      "s bob 0 0 1764000000000 1700000000000009\n";
  rs::batch_epoch epoch;
  const auto batch = rs::decode_batch(record, &epoch);
  CHECK(epoch.writes == 12);
  CHECK(epoch.base == 1700000000000000);
  REQUIRE(batch.events.size() == 3);

  const auto& first = batch.events[0];
  CHECK(first.applied);
  CHECK(first.task_key == "t 1");
  CHECK(first.task_id_json == "\"t 1\"");
  REQUIRE(first.task_json);
  CHECK(*first.task_json == R"({"id":"t 1","title":"two words"})");
  REQUIRE(first.audience.size() == 2);
  CHECK(first.audience[1].user == "bob");
  CHECK(first.audience[1].event_id == 1700000000000009);
  CHECK(first.audience[1].action == dh::protocol::task_action::deleted);

  CHECK_FALSE(batch.events[1].applied);
  CHECK(batch.events[1].task_key == "42");
  CHECK(batch.events[1].audience.empty());
  CHECK(batch.events[2].task_key == "7");

  REQUIRE(batch.stats.size() == 2);
  CHECK(batch.stats[0].first == "alice");
  CHECK(batch.stats[0].second.total == 3);
  CHECK(batch.stats[0].second.completed == -1);
  CHECK(batch.stats[0].second.last_event_id == 1700000000000005);
}

TEST_CASE("redis record: a receipt carries ids without tasks; a batch record may not") {
  const std::string receipt = "w 1 100\na 5\nu alice 101 created\n";
  const auto ids = rs::decode_batch(receipt, nullptr, rs::record_kind::receipt);
  REQUIRE(ids.events.size() == 1);
  CHECK_FALSE(ids.events[0].task_json);
  CHECK(ids.events[0].audience.at(0).event_id == 101);
  CHECK_THROWS_AS(rs::decode_batch(receipt), dh::core::store_error);
}

TEST_CASE("redis record: anything but a well-formed record is a store_error") {
  for (const std::string bad : {
           "",                                   // no header
           "a 5\nt {}\n",                        // events before the header
           "w 1 100",                            // a line without its end
           "w 1\n",                              // a header without the base
           "w 1 100\nt {}\n",                    // a task without its event
           "w 1 100\ni 5\nt {}\n",               // a task for an event that was not applied
           "w 1 100\nu alice 1 created\n",       // a view without its event
           "w 1 100\na 5\nt {}\nu alice x created\n",  // an id that is not a number
           "w 1 100\na 5\nt {}\nu alice 1 renamed\n",  // an unknown action
           "w 1 100\na -3\nt {}\n",              // a task id that is neither a string nor >= 0
           "w 1 100\na {\nt {}\n",               // a task id that is not JSON
           "w 1 100\nx what\n",                  // an unknown line
           "w 1 100\ns alice 1 0 5\n",           // statistics missing the last id
       }) {
    CAPTURE(bad);
    CHECK_THROWS_AS(rs::decode_batch(bad), dh::core::store_error);
  }
}
