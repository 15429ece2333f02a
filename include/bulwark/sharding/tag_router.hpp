#pragma once
// tag_router (and geo_router): routing by an attribute of the request (region, tenant tier,
// entity type) rather than by the key.

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/sharding/shard_router.hpp"

namespace bulwark {

/// One rule of a tag router: requests tagged `tag` go to shard `shard`.
struct tag_rule {
  std::string tag{};
  std::string shard{};
};

/// Routes by a tag: each listed tag to its shard, every other tag to the default shard.
/// Geographic sharding ("eu" -> "db-eu-west", "us" -> "db-us-east", anything else ->
/// "db-us-east") keeps data in its jurisdiction and close to its users; entity sharding
/// ("invoice" -> "billing-db") splits by kind of data.
///
///   bulwark::geo_router regions({{"eu", "db-eu"}, {"us", "db-us"}, {"ca", "db-us"}}, "db-us");
///   auto shard = regions.shards()[regions.shard_for(user.region)];
///
/// shards() lists the default shard first, then the other shards in the order first named;
/// several tags may share a shard. Nesting routes within a region: keep one router per shard
/// of the tag router (for example a consistent_router per region).
/// Thread-safety: const members are safe from any thread. Complexity: shard_for is one hash
/// table probe.
class tag_router {
 public:
  /// Throws std::invalid_argument when the default shard or a rule's tag or shard is empty, or
  /// a tag is listed twice.
  tag_router(std::span<const tag_rule> rules, std::string default_shard) {
    const option_check check{"tag_router"};
    check.that(!default_shard.empty(), "default shard", "non-empty", default_shard);
    shards_.push_back(std::move(default_shard));
    for (const tag_rule& rule : rules) {
      check.that(!rule.tag.empty(), "tag", "non-empty", rule.tag);
      const std::size_t shard = detail::find_or_add_shard("tag_router", shards_, rule.shard);
      check.that(tags_.try_emplace(rule.tag, shard).second, "tag", "listed once", rule.tag);
    }
  }
  tag_router(std::initializer_list<tag_rule> rules, std::string default_shard)
      : tag_router{std::span<const tag_rule>{rules.begin(), rules.size()},
                   std::move(default_shard)} {}

  /// The shard of `tag`: its rule's shard, or the default (index 0) for an unlisted tag.
  [[nodiscard]] std::size_t shard_for(std::string_view tag) const noexcept {
    const auto it = tags_.find(tag);
    return it != tags_.end() ? it->second : 0;
  }
  /// True when `tag` has a rule of its own.
  [[nodiscard]] bool listed(std::string_view tag) const noexcept {
    return tags_.find(tag) != tags_.end();
  }

  [[nodiscard]] std::span<const std::string> shards() const noexcept { return shards_; }
  /// The shard unlisted tags go to.
  [[nodiscard]] const std::string& default_shard() const noexcept { return shards_.front(); }

 private:
  struct tag_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view tag) const noexcept {
      return static_cast<std::size_t>(hash64(tag));
    }
  };

  std::vector<std::string> shards_;
  std::unordered_map<std::string, std::size_t, tag_hash, std::equal_to<>> tags_;
};

/// Geographic sharding is tag routing with regions as tags.
using geo_router = tag_router;

}  // namespace bulwark
