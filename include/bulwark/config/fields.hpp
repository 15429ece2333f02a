#pragma once
// How each guard's options are read from JSON: one table of fields per options type, each
// field's reader checking the JSON type and the value's syntax (durations, rates, names).

#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bulwark/bulkhead/bulkhead.hpp"
#include "bulwark/bulkhead/limit_algorithms.hpp"
#include "bulwark/cache/cache_options.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/rate_limit/rules/gcra_rule.hpp"
#include "bulwark/rate_limit/rules/token_bucket_rule.hpp"
#include "bulwark/registry/keyed_options.hpp"
#include "bulwark/registry/load_balancer_options.hpp"
#include "bulwark/retry/policy.hpp"

namespace bulwark {

/// One problem in a configuration document: where (a JSON Pointer, RFC 6901) and what.
struct config_problem {
  std::string path;
  std::string message;
};

namespace detail {

// "250ms", "2s", "1m", "1h", "500us", "10ns", or "0". Whole numbers only: what a duration
// means is then exact, and 1.5s is "1500ms".
inline bool parse_duration(std::string_view text, duration& out) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end == text.data()) return false;
  const std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
  std::uint64_t ns_per_unit = 0;
  if (unit == "ns")
    ns_per_unit = 1;
  else if (unit == "us")
    ns_per_unit = 1'000;
  else if (unit == "ms")
    ns_per_unit = 1'000'000;
  else if (unit == "s")
    ns_per_unit = 1'000'000'000;
  else if (unit == "m")
    ns_per_unit = 60'000'000'000;
  else if (unit == "h")
    ns_per_unit = 3'600'000'000'000;
  else if (unit.empty() && n == 0)
    ns_per_unit = 1;
  else
    return false;
  if (n > static_cast<std::uint64_t>(std::numeric_limits<duration::rep>::max()) / ns_per_unit)
    return false;
  out = duration{static_cast<duration::rep>(n * ns_per_unit)};
  return true;
}

// "100/s", "5/250ms", "1000/1m": count per period; a unit alone is one of it ("/s" = "/1s").
inline bool parse_rate(std::string_view text, rate& out) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + slash, count);
  if (ec != std::errc{} || end != text.data() + slash) return false;
  std::string period_text{text.substr(slash + 1)};
  if (!period_text.empty() && (period_text[0] < '0' || period_text[0] > '9'))
    period_text.insert(0, "1");
  duration period{};
  if (!parse_duration(period_text, period)) return false;
  out = rate{count, period};
  return true;
}

inline std::string json_text(const nlohmann::json& v) {
  return v.dump();
}

// A field of an options type: its key, how to read it (false, with what was expected, when the
// JSON value has the wrong type or syntax) and how to put back another options' value of it
// (after the library's validation refused it, so that the other fields are still checked).
template <class Options>
struct field_spec {
  std::string_view key;
  std::function<bool(const nlohmann::json&, Options&, std::string& expected)> read;
  std::function<void(Options&, const Options&)> reset;
  // Set instead of `read` for a field whose value holds fields of its own (a balancer's
  // outlier options, its endpoints): it reports each of their problems at its own path.
  std::function<void(const nlohmann::json&, Options&, const std::string& path,
                     std::vector<config_problem>& problems)>
      read_at{};
};

inline std::string pointer(const std::string& parent, std::string_view key) {
  std::string out = parent + '/';
  for (char c : key) {  // RFC 6901 escapes
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

// Defined in config.hpp: reads one options object over `base`, reporting every problem.
template <class Options>
Options read_options(const nlohmann::json& object, const std::string& path, const Options& base,
                     bool allow_base_key, std::vector<config_problem>& problems);

template <class Options, class T>
field_spec<Options> field(std::string_view key, T Options::*member) {
  field_spec<Options> f{
      key, {}, [member](Options& o, const Options& from) { o.*member = from.*member; }};
  f.read = [member](const nlohmann::json& v, Options& o, std::string& expected) {
    if constexpr (std::is_same_v<T, bool>) {
      expected = "true or false";
      if (!v.is_boolean()) return false;
      o.*member = v.get<bool>();
    } else if constexpr (std::is_same_v<T, double>) {
      expected = "a number";
      if (!v.is_number()) return false;
      o.*member = v.get<double>();
    } else if constexpr (std::is_integral_v<T>) {
      expected = "a whole number in [0, " + std::to_string(std::numeric_limits<T>::max()) + "]";
      if (!v.is_number_unsigned() || v.get<std::uint64_t>() > std::numeric_limits<T>::max())
        return false;
      o.*member = static_cast<T>(v.get<std::uint64_t>());
    } else if constexpr (std::is_same_v<T, duration> ||
                         std::is_same_v<T, std::optional<duration>>) {
      expected = "a duration such as \"250ms\" or \"2s\" (units ns, us, ms, s, m, h)";
      duration d{};
      if (!v.is_string() || !parse_duration(v.get<std::string>(), d)) return false;
      o.*member = d;
    } else if constexpr (std::is_same_v<T, rate>) {
      expected = "a rate such as \"100/s\" or \"5/250ms\"";
      rate r{};
      if (!v.is_string() || !parse_rate(v.get<std::string>(), r)) return false;
      o.*member = r;
    } else if constexpr (std::is_same_v<T, std::string>) {
      expected = "a string";
      if (!v.is_string()) return false;
      o.*member = v.get<std::string>();
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string, std::less<>>>) {
      expected = "an object of strings";
      if (!v.is_object()) return false;
      T out;
      for (const auto& item : v.items()) {
        if (!item.value().is_string()) return false;
        out.emplace(item.key(), item.value().get<std::string>());
      }
      o.*member = std::move(out);
    } else {
      static_assert(std::is_same_v<T, bool>, "no JSON reader for this field type");
    }
    return true;
  };
  return f;
}

// An enum spelled by its names.
template <class Options, class E>
field_spec<Options> enum_field(std::string_view key, E Options::*member,
                               std::vector<std::pair<std::string_view, E>> names) {
  field_spec<Options> f{
      key, {}, [member](Options& o, const Options& from) { o.*member = from.*member; }};
  f.read = [member, names = std::move(names)](const nlohmann::json& v, Options& o,
                                              std::string& expected) {
    expected = "one of";
    for (std::size_t i = 0; i < names.size(); ++i)
      expected.append(i == 0 ? " \"" : ", \"").append(names[i].first).append("\"");
    if (!v.is_string()) return false;
    for (const auto& [name, value] : names) {
      if (v.get<std::string>() == name) {
        o.*member = value;
        return true;
      }
    }
    return false;
  };
  return f;
}

// A field of a nested struct (retry's backoff), under a key of its own.
template <class Options, class Inner>
field_spec<Options> nested(Inner Options::*outer, field_spec<Inner> inner, std::string_view key) {
  field_spec<Options> f{
      key, {}, [outer, reset = std::move(inner.reset)](Options& o, const Options& from) {
        reset(o.*outer, from.*outer);
      }};
  if (inner.read_at) {
    f.read_at = [outer, read_at = std::move(inner.read_at)](const nlohmann::json& v, Options& o,
                                                            const std::string& path,
                                                            std::vector<config_problem>& problems) {
      read_at(v, o.*outer, path, problems);
    };
  } else {
    f.read = [outer, read = std::move(inner.read)](const nlohmann::json& v, Options& o,
                                                   std::string& expected) {
      return read(v, o.*outer, expected);
    };
  }
  return f;
}

// A field whose value is an object of its type's own fields ("outlier": {"interval": "5s"}),
// read over the value it has so far. An optional one is switched off by null.
template <class Options, class Member>
field_spec<Options> object_field(std::string_view key, Member Options::*member) {
  field_spec<Options> f{
      key, {}, [member](Options& o, const Options& from) { o.*member = from.*member; }};
  f.read_at = [member](const nlohmann::json& v, Options& o, const std::string& path,
                       std::vector<config_problem>& problems) {
    if constexpr (requires { typename Member::value_type; }) {
      if (v.is_null()) {
        o.*member = std::nullopt;
        return;
      }
      const auto base = (o.*member).value_or(typename Member::value_type{});
      o.*member = read_options(v, path, base, false, problems);
    } else {
      o.*member = read_options(v, path, o.*member, false, problems);
    }
  };
  return f;
}

// A balancer's endpoints: a list of endpoint objects, each member checked as the balancer
// checks it (a refused one is reported at its index and left out).
template <class Options>
field_spec<Options> endpoints_field(std::string_view key, std::vector<endpoint> Options::*member) {
  field_spec<Options> f{
      key, {}, [member](Options& o, const Options& from) { o.*member = from.*member; }};
  f.read_at = [member](const nlohmann::json& v, Options& o, const std::string& path,
                       std::vector<config_problem>& problems) {
    if (!v.is_array()) {
      problems.push_back({path, "expected a list of endpoints, got " + v.dump()});
      return;
    }
    std::vector<endpoint> out;
    out.reserve(v.size());  // `ids` views the ids of the members kept
    std::unordered_set<std::string_view> ids;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string at = pointer(path, std::to_string(i));
      endpoint e = read_options(v[i], at, endpoint{}, false, problems);
      if (!v[i].is_object()) continue;  // reported as such: nothing more to say of it
      out.push_back(std::move(e));
      try {
        validate_member(out.back(), ids);
      } catch (const std::invalid_argument& error) {
        out.pop_back();
        const std::string_view message = error.what();
        const bool weight = message.find("endpoint.weight") != std::string_view::npos;
        const bool given = v[i].is_object() && v[i].contains(weight ? "weight" : "id");
        problems.push_back({given ? pointer(at, weight ? "weight" : "id") : at, error.what()});
      }
    }
    o.*member = std::move(out);
  };
  return f;
}

inline std::vector<field_spec<circuit_breaker_options>> fields_of(const circuit_breaker_options*) {
  using o = circuit_breaker_options;
  return {field("failure_rate_threshold", &o::failure_rate_threshold),
          field("slow_call_rate_threshold", &o::slow_call_rate_threshold),
          field("slow_call_duration", &o::slow_call_duration),
          enum_field("window_type", &o::window_type,
                     {{"count_based", sliding_window::count_based},
                      {"time_based", sliding_window::time_based}}),
          field("window_size", &o::window_size),
          field("minimum_calls", &o::minimum_calls),
          enum_field("trip_on", &o::trip_on,
                     {{"rate", trip_condition::rate},
                      {"consecutive_failures", trip_condition::consecutive_failures}}),
          field("consecutive_failures", &o::consecutive_failures),
          field("wait_in_open", &o::wait_in_open),
          field("wait_in_open_multiplier", &o::wait_in_open_multiplier),
          field("max_wait_in_open", &o::max_wait_in_open),
          field("automatic_transition_from_open", &o::automatic_transition_from_open),
          field("permitted_calls_in_half_open", &o::permitted_calls_in_half_open),
          field("max_wait_in_half_open", &o::max_wait_in_half_open),
          field("probe_lease", &o::probe_lease)};
}
inline std::vector<field_spec<gcra_options>> fields_of(const gcra_options*) {
  return {field("rate", &gcra_options::rate), field("burst", &gcra_options::burst)};
}
inline std::vector<field_spec<token_bucket_options>> fields_of(const token_bucket_options*) {
  return {field("rate", &token_bucket_options::rate),
          field("capacity", &token_bucket_options::capacity)};
}
inline std::vector<field_spec<bulkhead_options>> fields_of(const bulkhead_options*) {
  using o = bulkhead_options;
  return {field("max_concurrent", &o::max_concurrent),
          field("max_waiting", &o::max_waiting),
          field("max_wait", &o::max_wait),
          enum_field("queue", &o::queue,
                     {{"fifo", queue_discipline::fifo},
                      {"codel", queue_discipline::codel},
                      {"adaptive_lifo", queue_discipline::adaptive_lifo},
                      {"codel_adaptive_lifo", queue_discipline::codel_adaptive_lifo}}),
          field("queue_target", &o::queue_target),
          field("queue_interval", &o::queue_interval)};
}
inline std::vector<field_spec<retry_options>> fields_of(const retry_options*) {
  using o = retry_options;
  using b = backoff_options;
  return {field("max_attempts", &o::max_attempts),
          field("max_elapsed", &o::max_elapsed),
          nested(&o::backoff,
                 enum_field("kind", &b::kind,
                            {{"constant", backoff_kind::constant},
                             {"linear", backoff_kind::linear},
                             {"exponential", backoff_kind::exponential}}),
                 "backoff_kind"),
          nested(&o::backoff, field("base", &b::base), "base"),
          nested(&o::backoff, field("multiplier", &b::multiplier), "multiplier"),
          nested(&o::backoff, field("cap", &b::cap), "cap"),
          nested(&o::backoff,
                 enum_field("jitter", &b::jitter,
                            {{"none", jitter_kind::none},
                             {"full", jitter_kind::full},
                             {"equal", jitter_kind::equal},
                             {"decorrelated", jitter_kind::decorrelated},
                             {"proportional", jitter_kind::proportional}}),
                 "jitter"),
          nested(&o::backoff, field("jitter_factor", &b::jitter_factor), "jitter_factor")};
}
inline std::vector<field_spec<cache_options>> fields_of(const cache_options*) {
  using o = cache_options;
  return {field("maximum_size", &o::maximum_size),
          field("expire_after_write", &o::expire_after_write),
          field("expire_after_access", &o::expire_after_access), field("shards", &o::shards)};
}

// A keyed limiter's keys are flat: the per-key limiter's fields beside the table's.
template <class PerKey>
std::vector<field_spec<keyed_registry_options<PerKey>>> fields_of(
    const keyed_registry_options<PerKey>*) {
  using o = keyed_registry_options<PerKey>;
  using t = keyed_limiter_options;
  std::vector<field_spec<o>> out;
  for (auto& f : fields_of(static_cast<const PerKey*>(nullptr)))
    out.push_back(nested(&o::per_key, f, f.key));
  out.push_back(nested(&o::table, field("max_keys", &t::max_keys), "max_keys"));
  out.push_back(nested(&o::table, field("idle_timeout", &t::idle_timeout), "idle_timeout"));
  out.push_back(nested(&o::table,
                       enum_field("on_table_full", &t::on_table_full,
                                  {{"reject_new_keys", keyed_table_full::reject_new_keys},
                                   {"evict_least_recent", keyed_table_full::evict_least_recent}}),
                       "on_table_full"));
  out.push_back(nested(&o::table, field("seed", &t::seed), "seed"));
  return out;
}
inline std::vector<field_spec<aimd_options>> fields_of(const aimd_options*) {
  using o = aimd_options;
  return {field("initial_limit", &o::initial_limit), field("min_limit", &o::min_limit),
          field("max_limit", &o::max_limit), field("backoff_ratio", &o::backoff_ratio),
          field("timeout", &o::timeout)};
}
inline std::vector<field_spec<gradient2_options>> fields_of(const gradient2_options*) {
  using o = gradient2_options;
  return {field("initial_limit", &o::initial_limit), field("min_limit", &o::min_limit),
          field("max_limit", &o::max_limit),         field("smoothing", &o::smoothing),
          field("rtt_tolerance", &o::rtt_tolerance), field("long_window", &o::long_window),
          field("queue_size", &o::queue_size),       field("drop_ratio", &o::drop_ratio),
          field("drift_guard", &o::drift_guard)};
}

inline std::vector<field_spec<endpoint>> fields_of(const endpoint*) {
  using o = endpoint;
  return {field("id", &o::id),
          field("weight", &o::weight),
          field("zone", &o::zone),
          field("metadata", &o::metadata),
          field("region", &o::region),
          field("sub_zone", &o::sub_zone),
          field("priority", &o::priority)};
}
inline std::vector<field_spec<slow_start_options>> fields_of(const slow_start_options*) {
  using o = slow_start_options;
  return {field("window", &o::window), field("aggression", &o::aggression),
          field("min_weight_percent", &o::min_weight_percent)};
}
inline std::vector<field_spec<outlier_options>> fields_of(const outlier_options*) {
  using o = outlier_options;
  return {field("consecutive_failures", &o::consecutive_failures),
          field("enforcing_consecutive_failures", &o::enforcing_consecutive_failures),
          field("interval", &o::interval),
          field("base_ejection_time", &o::base_ejection_time),
          field("max_ejection_time", &o::max_ejection_time),
          field("max_ejection_percent", &o::max_ejection_percent),
          field("always_eject_one_host", &o::always_eject_one_host),
          field("enforcing_success_rate", &o::enforcing_success_rate),
          field("success_rate_minimum_hosts", &o::success_rate_minimum_hosts),
          field("success_rate_request_volume", &o::success_rate_request_volume),
          field("success_rate_stdev_factor", &o::success_rate_stdev_factor),
          field("failure_percentage_threshold", &o::failure_percentage_threshold),
          field("enforcing_failure_percentage", &o::enforcing_failure_percentage),
          field("failure_percentage_minimum_hosts", &o::failure_percentage_minimum_hosts),
          field("failure_percentage_request_volume", &o::failure_percentage_request_volume)};
}
// A load balancer's keys are its endpoints and policy beside the balancer's options (the
// policy's name is checked by validate(), which lists the names).
inline std::vector<field_spec<load_balancer_registry_options>> fields_of(
    const load_balancer_registry_options*) {
  using o = load_balancer_registry_options;
  using b = balancer_options;
  return {endpoints_field("endpoints", &o::endpoints),
          field("policy", &o::policy),
          nested(&o::balancer, field("panic_threshold", &b::panic_threshold), "panic_threshold"),
          nested(&o::balancer, field("ewma_window", &b::ewma_window), "ewma_window"),
          nested(&o::balancer, object_field("slow_start", &b::slow_start), "slow_start"),
          nested(&o::balancer, object_field("outlier", &b::outlier), "outlier")};
}

}  // namespace detail
}  // namespace bulwark
