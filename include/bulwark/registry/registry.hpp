#pragma once
// bulwark::registry: named guards created on first use from named shared configs
// (resilience4j's CircuitBreakerRegistry and friends, Polly's ResiliencePipelineRegistry).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "bulwark/balancing/load_balancer.hpp"
#include "bulwark/bulkhead/adaptive_limiter.hpp"
#include "bulwark/bulkhead/bulkhead.hpp"
#include "bulwark/cache/cache.hpp"
#include "bulwark/circuit_breaker/circuit_breaker.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/rate_limit/gcra.hpp"
#include "bulwark/rate_limit/keyed_limiter.hpp"
#include "bulwark/rate_limit/token_bucket.hpp"
#include "bulwark/registry/detail/describe.hpp"
#include "bulwark/registry/detail/instance_ops.hpp"
#include "bulwark/registry/detail/named_instances.hpp"
#include "bulwark/registry/events.hpp"
#include "bulwark/registry/kinds.hpp"
#include "bulwark/retry/executor.hpp"

namespace bulwark {

namespace detail {
#if BULWARK_HAS_EXCEPTIONS
template <class Clock>
using registry_retry = retry<Clock>;
#else
// The retry executor throws what it gives up with, so it exists only with exceptions; the
// registry's retry() is constrained away with it.
template <class Clock>
struct registry_retry_unavailable;
template <class Clock>
using registry_retry = registry_retry_unavailable<Clock>;
#endif
}  // namespace detail

/// Named instances of bulwark's guards, created on first use.
///
///   bulwark::registry<> guards;
///   guards.add_config("default", bulwark::circuit_breaker_options{.minimum_calls = 20});
///   guards.add_config("strict", bulwark::circuit_breaker_options{.failure_rate_threshold = 0.2});
///   guards.define<bulwark::circuit_breaker_options>("payments", "strict",
///                                                   [](auto& o) { o.wait_in_open = 5s; });
///   auto payments = guards.circuit_breaker("payments");   // strict, with its own wait
///   auto search = guards.circuit_breaker("search");       // default
///
/// A name's options are, in this order: those given to define(name, options); else the
/// shared config its definition names (or the config passed to the getter, or "default"),
/// with the definition's override applied; else the options type's defaults. A config named
/// but never added is an error (std::invalid_argument), as in resilience4j.
///
/// Getters return a std::shared_ptr: keep it and call the guard through it; the lookup (a
/// shared lock, a hash and a reference count) is not for every call. remove(kind, name) takes
/// the name out: the next get builds a new instance, and whoever still holds the old one keeps
/// a working guard, no longer listed (its metrics and events are no longer reported) and freed
/// with the last holder. Breakers report their transitions, adaptive limiters their limit
/// changes, load balancers their ejections, to the sink (set_event_sink) from every instance;
/// reconfigure() and creation report there too.
///
/// Thread-safety: every member may be called from any thread. A get of an existing name takes
/// a shared lock of its kind; the first get of a name takes it exclusively and builds exactly
/// one instance however many threads ask at once.
template <clock Clock = steady_clock>
class registry {
 public:
  using circuit_breaker_type = bulwark::circuit_breaker<Clock>;
  using gcra_type = bulwark::gcra<Clock>;
  using token_bucket_type = bulwark::token_bucket<Clock>;
  using bulkhead_type = bulwark::bulkhead<Clock>;
  using retry_type = detail::registry_retry<Clock>;
  template <class Key, class Value>
  using cache_type = bulwark::cache<Key, Value, tiny_lfu_eviction, Clock>;
  template <class Key>
  using keyed_gcra_type = keyed_limiter<gcra_type, Key>;
  template <class Key>
  using keyed_token_bucket_type = keyed_limiter<token_bucket_type, Key>;
  using aimd_limiter_type = adaptive_limiter<aimd_limit, Clock>;
  using gradient2_limiter_type = adaptive_limiter<gradient2_limit, Clock>;
  template <balancing_policy Policy>
  using load_balancer_type = bulwark::load_balancer<Policy, Clock>;

  explicit registry(Clock clock = {}) : clock_{std::move(clock)} {}
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Sets (or with an empty function clears) the one sink of every instance's events.
  void set_event_sink(registry_event_sink sink) { hub_->set(std::move(sink)); }

  /// Hands an event to the sink: for state changes of components the registry does not hold
  /// (an outlier detector's ejection, an adaptive limiter's new limit). time is set to now if
  /// left empty.
  void emit(registry_event e) const {
    if (e.time == time_point{}) e.time = clock_.now();
    hub_->emit(e);
  }

  /// Adds or replaces a shared config. Validated now (std::invalid_argument naming the field);
  /// instances already built keep their options (reconfigure() changes those).
  template <class Options>
  void add_config(std::string_view name, Options options) {
    check(options);
    family<Options>().add_config(name, std::move(options));
  }

  /// Gives `name` its own options (validated now), used when it is first built.
  template <class Options>
  void define(std::string_view name, Options options) {
    check(options);
    family<Options>().define(name, {std::move(options), {}, {}});
  }
  /// Builds `name` from the shared config `base` with `override_fields` applied to a copy.
  template <class Options>
  void define(std::string_view name, std::string base,
              std::function<void(Options&)> override_fields) {
    family<Options>().define(name, {{}, std::move(base), std::move(override_fields)});
  }

  /// The options `name` is (or would be) built with.
  template <class Options>
  [[nodiscard]] Options options_of(std::string_view name, std::string_view config = {}) const {
    return family<Options>().resolve(name, config, default_options<Options>());
  }

  std::shared_ptr<circuit_breaker_type> circuit_breaker(std::string_view name,
                                                        std::string_view config = {}) {
    return get<circuit_breaker_type, circuit_breaker_options>(name, config);
  }
  std::shared_ptr<gcra_type> gcra(std::string_view name, std::string_view config = {}) {
    return get<gcra_type, gcra_options>(name, config);
  }
  std::shared_ptr<token_bucket_type> token_bucket(std::string_view name,
                                                  std::string_view config = {}) {
    return get<token_bucket_type, token_bucket_options>(name, config);
  }
  std::shared_ptr<bulkhead_type> bulkhead(std::string_view name, std::string_view config = {}) {
    return get<bulkhead_type, bulkhead_options>(name, config);
  }
  /// The retry executor (built with exceptions only, as bulwark::retry is: the template
  /// parameter only carries that constraint, detail::with_exceptions).
  template <detail::with_exceptions Unused = void>
  std::shared_ptr<retry_type> retry(std::string_view name, std::string_view config = {}) {
    return get<retry_type, retry_options>(name, config);
  }
  /// A cache of these key and value types; a later get of the same name with other types
  /// throws std::invalid_argument. cache_options has no default bound: add a config first.
  template <class Key, class Value>
  std::shared_ptr<cache_type<Key, Value>> cache(std::string_view name,
                                                std::string_view config = {}) {
    return get<cache_type<Key, Value>, cache_options>(name, config);
  }
  /// A keyed limiter (one gcra per key) of this key type; like a cache, a later get of the
  /// same name with another key type throws std::invalid_argument.
  template <class Key>
  std::shared_ptr<keyed_gcra_type<Key>> keyed_gcra(std::string_view name,
                                                   std::string_view config = {}) {
    return get<keyed_gcra_type<Key>, keyed_gcra_options>(name, config);
  }
  template <class Key>
  std::shared_ptr<keyed_token_bucket_type<Key>> keyed_token_bucket(std::string_view name,
                                                                   std::string_view config = {}) {
    return get<keyed_token_bucket_type<Key>, keyed_token_bucket_options>(name, config);
  }
  /// Adaptive limiters report each limit change to the sink (`limit_changed`) through their
  /// on_limit_change listener, which the registry installs: setting another replaces it.
  /// Their options cannot change live: reconfigure() of a live one throws.
  std::shared_ptr<aimd_limiter_type> aimd_limiter(std::string_view name,
                                                  std::string_view config = {}) {
    return get<aimd_limiter_type, aimd_options>(name, config);
  }
  std::shared_ptr<gradient2_limiter_type> gradient2_limiter(std::string_view name,
                                                            std::string_view config = {}) {
    return get<gradient2_limiter_type, gradient2_options>(name, config);
  }
  /// A load balancer with this policy (round_robin, p2c_peak_ewma, ...; default-constructed,
  /// and named_policy built from the options' `policy` name); like a cache's types, the policy
  /// is part of the instance: a later get of the same name with another policy throws
  /// std::invalid_argument, and so does a get whose options name another policy type. Its outlier
  /// ejections and their ends reach the sink (`ejection`) through outlier_options::on_change, and
  /// set_healthy's changed marks (`health`) through balancer_options::on_health_change, which the
  /// registry wraps (the user's own listener is called first). reconfigure() changes the
  /// endpoints in place; changed balancer options are refused.
  template <balancing_policy Policy>
  std::shared_ptr<load_balancer_type<Policy>> load_balancer(std::string_view name,
                                                            std::string_view config = {}) {
    return get<load_balancer_type<Policy>, load_balancer_registry_options>(name, config);
  }

  /// Whether `name` is live (built and not removed).
  [[nodiscard]] bool contains(registry_kind kind, std::string_view name) const {
    return visit_kind(kind, [&](auto& f) { return f.lookup(name).object != nullptr; });
  }

  /// Takes `name` (and its definition) out; returns whether it was live. Holders keep theirs.
  bool remove(registry_kind kind, std::string_view name) {
    const bool removed = visit_kind(kind, [&](auto& f) { return f.remove(name) != nullptr; });
    if (removed) emit({registry_event_type::removed, to_string(kind), name, {}, {}, {}});
    return removed;
  }

  /// Applies `options` to `name` and remembers them for later builds. A live guard with a
  /// reconfigure() member keeps its state (event `reconfigured`); one without is rebuilt from
  /// the new options, and holders of the old object keep it (event `replaced`). Validated
  /// before anything changes.
  template <class Options>
  void reconfigure(std::string_view name, Options options) {
    check(options);
    auto& f = family<Options>();
    const auto e = f.lookup(name);
    if (e.object) e.check(e.object.get(), options);  // refused: nothing changed yet
    f.define(name, {options, {}, {}});
    if (!e.object) return;
    const std::string before = e.describe(e.object.get());
    auto rebuilt = e.apply(e.object.get(), options);
    if (rebuilt) f.replace(name, e.object, std::move(rebuilt));
    emit({rebuilt ? registry_event_type::replaced : registry_event_type::reconfigured,
          to_string(registry_kind_of<Options>),
          name,
          before,
          detail::describe_limits(options),
          {}});
  }

  /// Throws what reconfigure(name, options) would (the options' validation, and the live
  /// guard's check_reconfigure() where it has one: a structural field that cannot change),
  /// and changes nothing: the first phase of an all-or-nothing reload.
  template <class Options>
  void check_reconfigure(std::string_view name, const Options& options) const {
    check(options);
    const auto e = family<Options>().lookup(name);
    if (e.object) e.check(e.object.get(), options);
  }

  /// The names live now, of one kind.
  [[nodiscard]] std::vector<std::string> names(registry_kind kind) const {
    return visit_kind(kind, [](auto& f) {
      std::vector<std::string> out;
      for (auto& [name, e] : f.entries())
        out.push_back(name);
      return out;
    });
  }

  /// Calls visit(registry_sample) for every metric of every live instance, kind by kind. The
  /// instances are listed under the lock and read after it, so visit may use the registry.
  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    for (registry_kind kind : registry_kinds) {
      visit_kind(kind, [&](auto& f) {
        for (auto& [name, e] : f.entries()) {
          const std::string_view n = name;
          e.visit_metrics(e.object.get(), [&](const metric& m) {
            visit(registry_sample{kind, n, m});
          });
        }
        return 0;
      });
    }
  }

  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  template <class T, class Options>
  std::shared_ptr<T> get(std::string_view name, std::string_view config) {
    auto [object, created] =
        family<Options>().get_or_create(name, config, default_options<Options>(), typeid(T),
                                        [&](const Options& o) { return make_entry<T>(name, o); });
    if (created)
      emit({registry_event_type::created, to_string(registry_kind_of<Options>), name, {}, {}, {}});
    return std::static_pointer_cast<T>(std::move(object));
  }

  template <class T, class Options>
  typename detail::named_instances<Options>::entry make_entry(std::string_view name,
                                                              const Options& o) {
    typename detail::named_instances<Options>::entry e;
    e.object = build<T>(std::string{name}, o);
    e.type = &typeid(T);
    e.visit_metrics = [](const void* object, const std::function<void(const metric&)>& visit) {
      static_cast<const T*>(object)->metrics().for_each_metric(visit);
    };
    using ops = detail::instance_ops<T, Options>;
    e.apply = [this, n = std::string{name}](void* object,
                                            const Options& next) -> std::shared_ptr<void> {
      if constexpr (ops::in_place) {
        ops::reconfigure(*static_cast<T*>(object), prepare(n, next));
        return nullptr;
      } else {
        return build<T>(n, next);
      }
    };
    e.describe = [](const void* object) { return ops::describe(*static_cast<const T*>(object)); };
    e.check = [this, n = std::string{name}](const void* object, const Options& next) {
      ops::check(*static_cast<const T*>(object), prepare(n, next),
                 to_string(registry_kind_of<Options>), n);
    };
    return e;
  }

  // The options an instance is built or reconfigured with: a breaker's on_transition and a
  // balancer's outlier on_change and on_health_change also report to the registry's sink
  // (after the user's own).
  template <class Options>
  Options prepare(const std::string& name, Options o) const {
    if constexpr (std::is_same_v<Options, circuit_breaker_options>) {
      o.on_transition = [hub = hub_, name,
                         user = std::move(o.on_transition)](const circuit_breaker_transition& t) {
        if (user) user(t);
        hub->emit({registry_event_type::transition, "circuit_breaker", name, to_string(t.from),
                   to_string(t.to), t.time});
      };
    }
    if constexpr (std::is_same_v<Options, load_balancer_registry_options>)
      detail::forward_balancer_events(o.balancer, hub_, name);
    return o;
  }

  // An adaptive limiter reports its limit changes through a listener rather than options.
  template <class T, class Options>
  std::shared_ptr<T> build(const std::string& name, const Options& o) const {
    auto object = detail::instance_ops<T, Options>::build(prepare(name, o), clock_, name);
    if constexpr (requires { object->on_limit_change({}); }) {
      // Runs under the limiter's lock (noexcept): the numbers' text fits std::string's
      // inline buffer, so nothing here allocates or throws.
      object->on_limit_change([hub = hub_, name, clock = clock_](const limit_change& c) {
        const std::string from = std::to_string(c.from);
        const std::string to = std::to_string(c.to);
        hub->emit({registry_event_type::limit_changed, to_string(registry_kind_of<Options>), name,
                   from, to, clock.now()});
      });
    }
    return object;
  }

  template <class Options>
  static void check(const Options& o) {
    if constexpr (std::is_same_v<Options, cache_options>) {
      detail::validate(o, false,
                       detail::seedable_hasher<flood_resistant_hash>);  // counted, default hash
    } else {
      detail::validate(o);
    }
  }

  template <class Options>
  static Options default_options() {
    return Options{};
  }

  template <class Options>
  detail::named_instances<Options>& family() {
    return std::get<detail::registry_kind_index<Options>()>(families_);
  }
  template <class Options>
  const detail::named_instances<Options>& family() const {
    return std::get<detail::registry_kind_index<Options>()>(families_);
  }

  template <class F>
  decltype(auto) visit_kind(registry_kind kind, F&& f) const {
    return visit_kind_of(*this, kind, f);
  }
  template <class F>
  decltype(auto) visit_kind(registry_kind kind, F&& f) {
    return visit_kind_of(*this, kind, f);
  }
  template <class Self, class F>
  static decltype(auto) visit_kind_of(Self& self, registry_kind kind, F& f) {
    return detail::visit_registry_kind(self.families_, kind, f);
  }

  Clock clock_;
  std::shared_ptr<detail::event_hub> hub_ = std::make_shared<detail::event_hub>();
  typename detail::per_registry_kind<detail::named_instances>::type families_;
};

}  // namespace bulwark
