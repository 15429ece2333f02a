#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace lab {

/// A move-only std::function: what C++23 calls std::move_only_function, in the few lines the
/// lab needs.
///
/// Why not std::function: it must be copyable, and the lab's callbacks capture move-only
/// state, above all a guard's RAII permit, which has to travel with a backend call until the
/// call answers and then report success or failure.
///
/// One heap allocation per stored callable; empty after being moved from. Not thread-safe
/// (nothing in a simulation is).
template <class Signature>
class unique_function;

/// F can be stored in a unique_function<R(Args...)>: it is not that type itself (which moves
/// rather than wraps), and it is callable with Args, with a result convertible to R.
template <class F, class R, class... Args>
concept storable_as = !std::same_as<std::remove_cvref_t<F>, unique_function<R(Args...)>> &&
                      std::is_invocable_r_v<R, std::decay_t<F>&, Args...>;

template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() noexcept = default;

  /// Stores `f`. Implicit, like std::function's, so that a lambda can be passed directly.
  template <storable_as<R, Args...> F>
  unique_function(F&& f)
      : callable_{std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f))} {}

  unique_function(unique_function&&) noexcept = default;
  unique_function& operator=(unique_function&&) noexcept = default;
  unique_function(const unique_function&) = delete;
  unique_function& operator=(const unique_function&) = delete;
  ~unique_function() = default;

  [[nodiscard]] explicit operator bool() const noexcept { return callable_ != nullptr; }

  /// Calls the stored callable. Precondition: not empty.
  R operator()(Args... args) { return callable_->call(std::forward<Args>(args)...); }

 private:
  struct callable {
    callable() = default;
    callable(const callable&) = delete;
    callable& operator=(const callable&) = delete;
    virtual ~callable() = default;
    virtual R call(Args&&... args) = 0;
  };

  template <class F>
  struct holder final : callable {
    template <class G>
    explicit holder(G&& g) : f{std::forward<G>(g)} {}

    R call(Args&&... args) override {
      if constexpr (std::is_void_v<R>) {
        std::invoke(f, std::forward<Args>(args)...);  // discards a result, as std::function does
      } else {
        return std::invoke(f, std::forward<Args>(args)...);
      }
    }

    F f;
  };

  std::unique_ptr<callable> callable_;
};

}  // namespace lab
