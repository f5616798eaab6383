// redis_backend.hpp — Redis mode's parts on a thread of their own: a command connection (event
// store and leases) and a bus-reader connection, the event store, the bus and admission.
#pragma once

#include "core/admission.hpp"
#include "core/logger.hpp"
#include "store/redis_admission.hpp"
#include "store/redis_bus.hpp"
#include "store/redis_client.hpp"
#include "store/redis_event_store.hpp"
#include "store/redis_sentinel.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>

namespace dh::store {

struct redis_settings {
  redis_endpoint endpoint;  // with Sentinel: its credentials and db; the host and port are found
  std::vector<redis_endpoint> sentinels;  // set: the master is asked of these, by name
  std::string master_name;
  redis_store_settings store;
  std::chrono::milliseconds lease_ttl{15'000};
  redis_timing timing;
};

// An id for this process's leases and inbox: host name, pid and a random part.
std::string make_instance_id();

class redis_backend {
 public:
  // Starts its thread and begins connecting; nothing is read from the bus before start_bus().
  redis_backend(redis_settings settings, core::admission_settings admission, const core::logger& log);
  ~redis_backend();  // stop(), if not done yet
  redis_backend(const redis_backend&) = delete;
  redis_backend& operator=(const redis_backend&) = delete;

  core::event_store& events() noexcept { return events_; }
  core::bus& bus() noexcept { return bus_; }
  core::admission& admission() noexcept { return admission_; }
  // After the hub subscribed to bus().
  void start_bus() { bus_.start(); }
  // Drops both connections (pending calls fail) and joins the thread. Before the bus's subscriber
  // (the hub) is destroyed: until this returns the bus may still call it.
  void stop();

 private:
  std::string instance_ = make_instance_id();  // names its leases and its inbox
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<redis_sentinel> sentinel_;  // before the clients that ask it
  redis_client commands_;
  redis_client reader_;
  redis_epoch_watch epoch_;
  redis_bus bus_;
  redis_event_store events_;
  redis_admission admission_;
  std::jthread thread_;
};

}  // namespace dh::store
