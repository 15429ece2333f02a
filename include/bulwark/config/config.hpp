#pragma once
// bulwark::registry_config: a registry built from a JSON document and reloaded from changed
// ones, all or nothing (docs/operate.md).

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "bulwark/config/fields.hpp"
#include "bulwark/registry/registry.hpp"

namespace bulwark {

/// A document refused: every problem found, each with its JSON path. what() lists them, one a
/// line: "/circuit_breakers/instances/payments/window_size: expected a whole number ..., got -1".
class config_error : public std::invalid_argument {
 public:
  explicit config_error(std::vector<config_problem> problems)
      : std::invalid_argument{join(problems)}, problems_{std::move(problems)} {}
  [[nodiscard]] const std::vector<config_problem>& problems() const noexcept { return problems_; }

 private:
  static std::string join(const std::vector<config_problem>& problems) {
    std::string text;
    for (const auto& p : problems) {
      if (!text.empty()) text += '\n';
      text.append(p.path).append(": ").append(p.message);
    }
    return text;
  }
  std::vector<config_problem> problems_;
};

/// What one apply() did, by "<section>/<name>".
struct config_changes {
  std::vector<std::string> created;       ///< new instances (caches: defined, built on first get)
  std::vector<std::string> reconfigured;  ///< live instances given their new options
  std::vector<std::string> removed;       ///< instances the document no longer lists
};

namespace detail {

// One section of the document ("circuit_breakers", ...): its shared configs and its
// instances, each instance's options resolved (base config, then its own fields) and kept with
// the JSON they came from, which is what "changed" compares.
template <class Options>
struct config_section {
  std::map<std::string, Options> configs;
  std::map<std::string, std::pair<Options, nlohmann::json>> instances;
};

using config_document = per_registry_kind<config_section>::type;

// One section per registry kind, in registry_kind's order.
inline constexpr std::string_view section_names[] = {"circuit_breakers",
                                                     "gcra_limiters",
                                                     "token_buckets",
                                                     "bulkheads",
                                                     "retries",
                                                     "caches",
                                                     "keyed_gcra_limiters",
                                                     "keyed_token_buckets",
                                                     "aimd_limiters",
                                                     "gradient2_limiters",
                                                     "load_balancers"};
static_assert(std::size(section_names) == registry_kind_count, "one section per registry kind");

template <class Options>
void validate_any(const Options& o) {
  if constexpr (std::is_same_v<Options, cache_options>) {
    validate(o, false, seedable_hasher<flood_resistant_hash>);  // counted, default hash
  } else if constexpr (requires { validate(o); }) {
    validate(o);  // a nested object without a check of its own (slow_start) is its parent's
  }
}

// Reads one options object over `base`: unknown keys, wrong types and syntax first, then the
// library's own validation, repeated after putting back each field it refuses, so that every
// bad value is reported with the message its constructor gives.
template <class Options>
Options read_options(const nlohmann::json& object, const std::string& path, const Options& base,
                     bool allow_base_key, std::vector<config_problem>& problems) {
  static const auto specs = fields_of(static_cast<const Options*>(nullptr));
  Options o = base;
  if (!object.is_object()) {
    problems.push_back({path, "expected an object, got " + object.dump()});
    return o;
  }
  for (const auto& item : object.items()) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    if (allow_base_key && key == "base_config") continue;
    const auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.key == key; });
    if (spec == specs.end()) {
      problems.push_back({pointer(path, key), "unknown key"});
      continue;
    }
    if (spec->read_at) {
      spec->read_at(value, o, pointer(path, key), problems);
      continue;
    }
    std::string expected;
    if (!spec->read(value, o, expected)) {
      problems.push_back({pointer(path, key), "expected " + expected + ", got " + value.dump()});
    }
  }
  std::vector<std::string_view> refused;
  for (std::size_t round = 0; round <= specs.size(); ++round) {
    try {
      validate_any(o);
      break;
    } catch (const std::invalid_argument& e) {
      // "bulwark::<component>: <field> must be ..." (or "<field>.<inner> must be ..." for a
      // nested object's): find the field, report it at its key.
      const std::string_view message = e.what();
      const auto colon = message.find(": ");
      const std::string_view rest =
          colon == std::string_view::npos ? message : message.substr(colon + 2);
      const auto spec = std::find_if(specs.begin(), specs.end(), [&](const auto& s) {
        const std::string_view after = rest.substr(std::min(s.key.size(), rest.size()));
        return rest.starts_with(s.key) && (after.starts_with(" ") || after.starts_with("."));
      });
      const bool given = spec != specs.end() && object.contains(std::string{spec->key});
      problems.push_back({given ? pointer(path, spec->key) : path, std::string{message}});
      // Put the base's value back and look again; a field refused twice (its base value is
      // refused too, as a cache's missing bound is) ends the search.
      if (spec == specs.end() ||
          std::find(refused.begin(), refused.end(), spec->key) != refused.end())
        break;
      refused.push_back(spec->key);
      spec->reset(o, base);
    }
  }
  return o;
}

template <class Options>
void read_section(const nlohmann::json& doc, std::string_view name, config_section<Options>& out,
                  std::vector<config_problem>& problems) {
  const std::string path = pointer("", name);
  if (!doc.contains(std::string{name})) return;
  const nlohmann::json& section = doc.at(std::string{name});
  if (!section.is_object()) {
    problems.push_back({path, "expected an object, got " + section.dump()});
    return;
  }
  for (const auto& [key, value] : section.items()) {
    if (key != "configs" && key != "instances")
      problems.push_back({pointer(path, key), "unknown key (expected configs or instances)"});
    else if (!value.is_object())
      problems.push_back({pointer(path, key), "expected an object, got " + value.dump()});
  }
  if (section.contains("configs") && section["configs"].is_object()) {
    for (const auto& [name_, body] : section["configs"].items()) {
      out.configs[name_] =
          read_options(body, pointer(pointer(path, "configs"), name_), Options{}, false, problems);
    }
  }
  if (section.contains("instances") && section["instances"].is_object()) {
    for (const auto& [name_, body] : section["instances"].items()) {
      const std::string at = pointer(pointer(path, "instances"), name_);
      std::string base = "default";
      if (body.is_object() && body.contains("base_config")) {
        if (!body["base_config"].is_string()) {
          problems.push_back({pointer(at, "base_config"),
                              "expected a config name, got " + body["base_config"].dump()});
        } else {
          base = body["base_config"].template get<std::string>();
        }
      }
      const auto config = out.configs.find(base);
      if (config == out.configs.end() && base != "default") {
        problems.push_back({pointer(at, "base_config"),
                            "no config named \"" + base + "\" in " + path + "/configs"});
      }
      Options resolved = read_options(
          body, at, config == out.configs.end() ? Options{} : config->second, true, problems);
      // "Changed" compares the config's JSON and the instance's own.
      nlohmann::json identity{
          {"base", section.contains("configs") && section["configs"].contains(base)
                       ? section["configs"][base]
                       : nlohmann::json{}},
          {"own", body}};
      out.instances.emplace(name_, std::pair{std::move(resolved), std::move(identity)});
    }
  }
}

}  // namespace detail

/// Builds a registry's guards from a JSON document and applies changed documents to it:
///
///   {
///     "circuit_breakers": {
///       "configs":   {"default": {"failure_rate_threshold": 0.5, "wait_in_open": "30s"}},
///       "instances": {"payments": {"base_config": "default", "minimum_calls": 20}}
///     },
///     "gcra_limiters": {"instances": {"api": {"rate": "100/s", "burst": 20}}}
///   }
///
/// Sections: circuit_breakers, gcra_limiters, token_buckets, bulkheads, retries, caches,
/// keyed_gcra_limiters, keyed_token_buckets, aimd_limiters, gradient2_limiters, load_balancers;
/// each has "configs" (shared, by name; "default" is every instance's base unless it names one
/// in "base_config") and "instances". Keys are the options' field names; durations are strings with
/// a unit ("250ms", "2s"), rates "count/period" ("100/s", "5/250ms").
///
/// apply(text) is all or nothing: it reads the whole document, reporting every unknown key,
/// wrong type and refused value with its path (config_error), asks every changed live
/// instance whether it accepts its new options (check_reconfigure), and only then changes the
/// registry: configs replaced, changed instances reconfigured (in place where the guard
/// supports it: state kept), new instances built (caches, keyed limiters and load balancers
/// defined: their types and policy come from the first get), instances the document dropped
/// removed. A refused document changes nothing; a changed live adaptive limiter is refused (its
/// options are fixed), and so is a live load balancer's changed balancer option (its endpoints
/// and weights change in place).
///
/// Thread-safety: apply() calls are serialized; the registry stays usable meanwhile.
template <clock Clock = steady_clock>
class registry_config {
 public:
  explicit registry_config(registry<Clock>& guards) : guards_{guards} {}

  config_changes apply(std::string_view json_text) {
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::parse_error& e) {
      throw config_error({{"", std::string{"not JSON: "} + e.what()}});
    }
    return apply_json(doc);
  }

  config_changes apply_json(const nlohmann::json& doc) {
    const std::scoped_lock lock{mutex_};
    std::vector<config_problem> problems;
    detail::config_document next;
    if (!doc.is_object()) {
      problems.push_back({"", "expected an object, got " + doc.dump()});
    } else {
      for (const auto& [key, value] : doc.items()) {
        if (std::find(std::begin(detail::section_names), std::end(detail::section_names), key) ==
            std::end(detail::section_names))
          problems.push_back({detail::pointer("", key), "unknown key"});
      }
      for_each_section(next, [&](auto& section, std::string_view name) {
        detail::read_section(doc, name, section, problems);
      });
    }
    // Phase two: would every changed live instance take its new options?
    if (problems.empty()) {
      for_each_section(next, [&](auto& section, std::string_view name) {
        auto& before = std::get<std::remove_cvref_t<decltype(section)>>(current_);
        for (auto& [instance, entry] : section.instances) {
          const auto old = before.instances.find(instance);
          if (old != before.instances.end() && old->second.second == entry.second) continue;
          try {
            guards_.check_reconfigure(instance, entry.first);
          } catch (const std::invalid_argument& e) {
            problems.push_back(
                {detail::pointer(detail::pointer(detail::pointer("", name), "instances"), instance),
                 e.what()});
          }
        }
      });
    }
    if (!problems.empty()) throw config_error(std::move(problems));

    // Phase three: apply. Nothing here is refused (phase two asked), so it runs to the end.
    config_changes changes;
    for_each_section(next, [&](auto& section, std::string_view name) {
      using section_type = std::remove_cvref_t<decltype(section)>;
      auto& before = std::get<section_type>(current_);
      for (auto& [config, options] : section.configs)
        guards_.add_config(config, options);
      for (auto& [instance, entry] : section.instances) {
        const std::string label = std::string{name} + "/" + instance;
        const auto old = before.instances.find(instance);
        if (old != before.instances.end() && old->second.second == entry.second) continue;
        const bool live = guards_.contains(kind_of(name), instance);
        guards_.reconfigure(instance, entry.first);  // defines it, and applies it if live
        if (live) {
          changes.reconfigured.push_back(label);
        } else {
          build(kind_of(name), instance);
          changes.created.push_back(label);
        }
      }
      for (auto& [instance, entry] : before.instances) {
        if (section.instances.contains(instance)) continue;
        guards_.remove(kind_of(name), instance);
        changes.removed.push_back(std::string{name} + "/" + instance);
      }
    });
    current_ = std::move(next);
    return changes;
  }

 private:
  template <class F>
  static void for_each_section(detail::config_document& doc, F&& f) {
    std::size_t i = 0;
    std::apply([&](auto&... section) { (f(section, detail::section_names[i++]), ...); }, doc);
  }

  static registry_kind kind_of(std::string_view section) {
    const auto at =
        std::find(std::begin(detail::section_names), std::end(detail::section_names), section) -
        std::begin(detail::section_names);
    return static_cast<registry_kind>(at);
  }

  void build(registry_kind kind, const std::string& name) {
    switch (kind) {
      case registry_kind::circuit_breaker:
        (void)guards_.circuit_breaker(name);
        break;
      case registry_kind::gcra:
        (void)guards_.gcra(name);
        break;
      case registry_kind::token_bucket:
        (void)guards_.token_bucket(name);
        break;
      case registry_kind::bulkhead:
        (void)guards_.bulkhead(name);
        break;
      case registry_kind::retry:
        (void)guards_.retry(name);
        break;
      case registry_kind::aimd_limiter:
        (void)guards_.aimd_limiter(name);
        break;
      case registry_kind::gradient2_limiter:
        (void)guards_.gradient2_limiter(name);
        break;
      case registry_kind::cache:
      case registry_kind::keyed_gcra:
      case registry_kind::keyed_token_bucket:
      case registry_kind::load_balancer:
        break;  // their key (and value) types, or policy, come with the first get
    }
  }

  registry<Clock>& guards_;
  std::mutex mutex_;
  detail::config_document current_;
};

}  // namespace bulwark
