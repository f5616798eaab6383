#include "net/metrics_text.hpp"

#include "dh/version.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <map>

namespace dh::net {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::string_view prefix = "dashboard_hub_";

MetricFamily family(std::string_view name, std::string help, MetricType type) {
  return MetricFamily{std::string(prefix) + std::string(name), std::move(help), type, {}};
}

ClientMetric counter_sample(std::uint64_t value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric out;
  out.label = std::move(labels);
  out.counter.value = static_cast<double>(value);
  return out;
}

ClientMetric gauge_sample(double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric out;
  out.label = std::move(labels);
  out.gauge.value = value;
  return out;
}

MetricFamily gauge(std::string_view name, std::string help, double value) {
  auto f = family(name, std::move(help), MetricType::Gauge);
  f.metric.push_back(gauge_sample(value));
  return f;
}

MetricFamily counter(std::string_view name, std::string help, std::uint64_t value) {
  auto f = family(name, std::move(help), MetricType::Counter);
  f.metric.push_back(counter_sample(value));
  return f;
}

// One sample per name; several counters may share a label value (INVALID_MESSAGE has three
// close codes), so values are summed by label first.
MetricFamily labelled_counter(std::string_view name, std::string help, std::string label,
                              const std::vector<std::pair<std::string, std::uint64_t>>& values) {
  std::map<std::string, std::uint64_t> summed;
  for (const auto& [value, n] : values) summed[value] += n;
  auto f = family(name, std::move(help), MetricType::Counter);
  for (const auto& [value, n] : summed) f.metric.push_back(counter_sample(n, {{label, value}}));
  return f;
}

MetricFamily histogram(std::string_view name, std::string help, const core::histogram& h) {
  const auto snap = h.read();
  ClientMetric sample;
  sample.histogram.sample_count = snap.count;
  sample.histogram.sample_sum = snap.sum_seconds;
  for (std::size_t i = 0; i < snap.upper_bounds.size(); ++i)
    sample.histogram.bucket.push_back({snap.cumulative[i], snap.upper_bounds[i]});
  sample.histogram.bucket.push_back({snap.count, std::numeric_limits<double>::infinity()});
  auto f = family(name, std::move(help), MetricType::Histogram);
  f.metric.push_back(std::move(sample));
  return f;
}

template <class Names, class Counters>
std::vector<std::pair<std::string, std::uint64_t>> by_name(const Names& names, const Counters& counters,
                                                           std::size_t from = 0) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (std::size_t i = from; i < names.size(); ++i) out.emplace_back(std::string(names[i]), counters[i].value());
  return out;
}

}  // namespace

std::string render_metrics(const core::metrics& m, const metrics_gauges& gauges) {
  std::vector<MetricFamily> families;

  auto build = family("build_info", "The running build; always 1.", MetricType::Gauge);
  build.metric.push_back(gauge_sample(1, {{"version", std::string(dh::version)}}));
  families.push_back(std::move(build));

  families.push_back(gauge("connections", "Open sessions (WebSocket and SSE) that hold a connection slot.",
                           static_cast<double>(gauges.connections)));
  families.push_back(gauge("connected_users", "Users with at least one open session.", static_cast<double>(gauges.users)));

  families.push_back(labelled_counter("sessions_opened_total", "Sessions opened, by transport (ws, sse).", "transport",
                                      by_name(core::transport_names, m.sessions_opened)));
  families.push_back(labelled_counter("sessions_ended_total", "Sessions ended, by transport.", "transport",
                                      by_name(core::transport_names, m.sessions_ended)));
  families.push_back(labelled_counter("transport_messages_total", "Server messages written to sockets, by transport.",
                                      "transport", by_name(core::transport_names, m.messages_by_transport)));
  families.push_back(labelled_counter("client_messages_total", "Client messages received, by type.", "type",
                                      by_name(core::client_message_names, m.client_messages)));
  families.push_back(labelled_counter("server_messages_total", "Server messages written to sockets, by type.", "type",
                                      by_name(core::server_message_names, m.server_messages, 1)));

  std::vector<std::pair<std::string, std::uint64_t>> errors;
  for (std::size_t i = 1; i < m.errors.size(); ++i)
    errors.emplace_back(std::string(protocol::info(static_cast<protocol::errc>(i)).code), m.errors[i].value());
  families.push_back(labelled_counter("errors_total", "Errors raised to clients (an error envelope queued, or a refused upgrade), by error code.", "code", errors));

  std::vector<std::pair<std::string, std::uint64_t>> closes;
  for (std::size_t i = 0; i < core::known_close_codes.size(); ++i)
    closes.emplace_back(std::to_string(core::known_close_codes[i]), m.closes[i].value());
  closes.emplace_back("other", m.closes.back().value());
  families.push_back(labelled_counter("closes_total",
                                      "Sessions ended, by close code (1005: a close frame without a code; 1006: none; SSE: the code the session would have closed with).", "code", closes));

  families.push_back(counter("slow_consumer_drops_total", "Sessions cut because they did not keep up (SLOW_CONSUMER).",
                             m.slow_consumer_drops.value()));

  families.push_back(counter("upgrades_refused_full_total",
                             "Upgrades answered 503 because the instance holds --max-connections sessions.",
                             m.upgrades_refused_full.value()));
  families.push_back(counter("connections_refused_rate_total",
                             "New connections answered 429 because their address is over --connection-rate-per-address.",
                             m.connections_refused_rate.value()));

  std::vector<std::pair<std::string, std::uint64_t>> ingest;
  for (std::size_t i = 0; i < core::known_ingest_statuses.size(); ++i)
    ingest.emplace_back(std::to_string(core::known_ingest_statuses[i]), m.ingest[i].value());
  ingest.emplace_back("other", m.ingest.back().value());
  families.push_back(labelled_counter("ingest_requests_total", "Ingest requests answered, by HTTP status.", "status", ingest));

  families.push_back(labelled_counter("ingest_events_total",
                                      "Ingested events: applied, or ignored as older than the stored task.", "result",
                                      {{"applied", m.events_applied.value()}, {"ignored", m.events_ignored.value()}}));

  families.push_back(counter("bus_events_total",
                             "Task events in the committed batches this instance received to deliver (Redis mode: only batches that reach a user with a session here).",
                             m.bus_events.value()));

  families.push_back(histogram("delivery_latency_seconds",
                               "From ingest accepting an update to the frame carrying it being written to a socket, per frame (a task_batch counts once, from its oldest update).",
                               m.delivery_latency));
  families.push_back(histogram("handshake_duration_seconds",
                               "From the upgrade request to connection_success being queued.", m.handshake_time));
  families.push_back(histogram("store_commit_duration_seconds", "An ingest request's wait until its events are durable, group commit included.",
                               m.store_commit_time));

  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace dh::net
