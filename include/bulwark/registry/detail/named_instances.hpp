#pragma once
// The instances of one options type in a registry: shared configs, per-name definitions and
// the instances themselves, by name.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/core/metrics.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark::detail {

// Heterogeneous lookup: a get by std::string_view builds no std::string.
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
template <class V>
using by_name = std::unordered_map<std::string, V, name_hash, std::equal_to<>>;

// One live instance: the object, type-erased so that one map serves every guard built from
// the same options (a cache of any key and value types); its type, checked on every get; how
// to read its metrics; and how to apply new options to it (in place where the guard has
// reconfigure(), else by building a new object, which `apply` returns).
template <class Options>
struct named_entry {
  using metric_visitor = std::function<void(const metric&)>;
  std::shared_ptr<void> object;
  const std::type_info* type = nullptr;
  void (*visit_metrics)(const void* object, const metric_visitor& visit) = nullptr;
  std::function<std::shared_ptr<void>(void* object, const Options& options)> apply;
  std::function<void(const void* object, const Options& options)> check;
  std::string (*describe)(const void* object) = nullptr;
};

// How a name's options are found: the options given for it, or a shared config by name with
// an override applied (resilience4j's instances.<name>.baseConfig plus the fields it sets).
template <class Options>
struct definition {
  std::optional<Options> options;
  std::string base;
  std::function<void(Options&)> override_fields;
};

// Thread-safety: one shared_mutex per options type. A get of an existing name takes it shared
// (readers never wait for each other); creation, definition and removal take it exclusive.
// Instances are built under the exclusive lock, so concurrent first gets of one name build
// exactly one. No user code runs under it but the guard's constructor and an override.
template <class Options>
class named_instances {
 public:
  using entry = named_entry<Options>;

  // The hot lookup: a shared lock, one hash, one shared_ptr copy.
  [[nodiscard]] std::shared_ptr<void> find(std::string_view name,
                                           const std::type_info& type) const {
    const std::shared_lock lock{mutex_};
    const auto it = instances_.find(name);
    if (it == instances_.end()) return {};
    check_type(name, *it->second.type, type);
    return it->second.object;
  }

  // Returns the object and whether this call created it.
  template <class Make>
  std::pair<std::shared_ptr<void>, bool> get_or_create(std::string_view name,
                                                       std::string_view config,
                                                       const Options& fallback,
                                                       const std::type_info& type, Make&& make) {
    if (auto found = find(name, type)) return {std::move(found), false};
    const std::unique_lock lock{mutex_};
    if (const auto it = instances_.find(name); it != instances_.end()) {
      check_type(name, *it->second.type, type);
      return {it->second.object, false};
    }
    entry made = make(resolve_locked(name, config, fallback));
    auto object = made.object;
    instances_.emplace(std::string{name}, std::move(made));
    return {std::move(object), true};
  }

  void add_config(std::string_view name, Options options) {
    const std::unique_lock lock{mutex_};
    configs_.insert_or_assign(std::string{name}, std::move(options));
  }
  void define(std::string_view name, definition<Options> d) {
    const std::unique_lock lock{mutex_};
    definitions_.insert_or_assign(std::string{name}, std::move(d));
  }
  [[nodiscard]] Options resolve(std::string_view name, std::string_view config,
                                const Options& fallback) const {
    const std::shared_lock lock{mutex_};
    return resolve_locked(name, config, fallback);
  }

  // The entry of a live name, copied (empty object if none).
  [[nodiscard]] entry lookup(std::string_view name) const {
    const std::shared_lock lock{mutex_};
    const auto it = instances_.find(name);
    return it == instances_.end() ? entry{} : it->second;
  }

  // Replaces the object of a live name if it is still `old` (a concurrent remove or replace
  // wins); returns whether it did.
  bool replace(std::string_view name, const std::shared_ptr<void>& old,
               std::shared_ptr<void> object) {
    const std::unique_lock lock{mutex_};
    const auto it = instances_.find(name);
    if (it == instances_.end() || it->second.object != old) return false;
    it->second.object = std::move(object);
    return true;
  }

  // Forgets the name's instance and definition; returns the object removed, if any.
  std::shared_ptr<void> remove(std::string_view name) {
    const std::unique_lock lock{mutex_};
    if (const auto d = definitions_.find(name); d != definitions_.end()) definitions_.erase(d);
    const auto it = instances_.find(name);
    if (it == instances_.end()) return {};
    std::shared_ptr<void> object = std::move(it->second.object);
    instances_.erase(it);
    return object;
  }

  [[nodiscard]] bool has_config(std::string_view name) const {
    const std::shared_lock lock{mutex_};
    return configs_.find(name) != configs_.end();
  }

  // A copy of the live instances: the caller reads them without the lock.
  [[nodiscard]] std::vector<std::pair<std::string, entry>> entries() const {
    const std::shared_lock lock{mutex_};
    return {instances_.begin(), instances_.end()};
  }

 private:
  // A name's own definition first; else the config asked for (or "default"); else `fallback`,
  // the options type's defaults.
  Options resolve_locked(std::string_view name, std::string_view config,
                         const Options& fallback) const {
    const definition<Options>* d = nullptr;
    if (const auto it = definitions_.find(name); it != definitions_.end()) d = &it->second;
    if (d != nullptr && d->options) return *d->options;
    std::string_view base = config.empty() ? std::string_view{"default"} : config;
    if (d != nullptr && !d->base.empty()) base = d->base;
    Options o = fallback;
    if (const auto it = configs_.find(base); it != configs_.end()) {
      o = it->second;
    } else if (base != "default") {
      // resilience4j's ConfigurationNotFoundException: a name asked for a config nobody added.
      detail::raise<std::invalid_argument>("bulwark::registry: no config named '" +
                                           std::string{base} + "' (asked for by '" +
                                           std::string{name} + "')");
    }
    if (d != nullptr && d->override_fields) d->override_fields(o);
    return o;
  }

  static void check_type(std::string_view name, const std::type_info& held,
                         const std::type_info& wanted) {
    if (held != wanted) {
      detail::raise<std::invalid_argument>("bulwark::registry: '" + std::string{name} +
                                           "' is held with other template arguments");
    }
  }

  mutable std::shared_mutex mutex_;
  by_name<entry> instances_;
  by_name<Options> configs_;
  by_name<definition<Options>> definitions_;
};

}  // namespace bulwark::detail
