// Cache-aside over a slow store: the first read of each key pays the store's latency, the rest
// are served from bulwark::cache; concurrent misses of one key reach the store once, and an
// update goes to the store and drops the cached copy.

#include <atomic>
#include <bulwark/cache.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// A store that takes 20 ms per read, and counts them.
class slow_store {
 public:
  std::string read(int id) {
    reads_.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    std::lock_guard lock{mutex_};
    return rows_[id];
  }
  void write(int id, std::string value) {
    std::lock_guard lock{mutex_};
    rows_[id] = std::move(value);
  }
  int reads() const { return reads_.load(); }

 private:
  std::mutex mutex_;
  std::map<int, std::string> rows_{{1, "alice"}, {2, "bob"}, {3, "carol"}};
  std::atomic<int> reads_{0};
};

}  // namespace

int main() {
  slow_store store;
  bulwark::cache<int, std::string> users(
      {.maximum_size = 1000, .expire_after_write = std::chrono::minutes{5}});
  bulwark::cache_aside aside(users, [&](int id) { return store.read(id); });

  // Eight threads read the same three users 100 times each.
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 100; ++i)
        (void)aside.get(1 + i % 3);
    });
  }
  for (auto& r : readers)
    r.join();
  std::printf("800 reads, store reads: %d\n", store.reads());

  aside.update(2, [&] { store.write(2, "robert"); });
  std::printf("after update: %s\n", aside.get(2).c_str());

  const auto m = users.metrics();
  std::printf("hits %llu misses %llu loads %llu hit ratio %.3f\n",
              static_cast<unsigned long long>(m.hits), static_cast<unsigned long long>(m.misses),
              static_cast<unsigned long long>(m.loads), m.hit_ratio());
  return store.reads() == 4 ? 0 : 1;
}
