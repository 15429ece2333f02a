// A payment handler made safe to retry. The client sends an Idempotency-Key with each charge;
// when a response is lost (a timeout, a dropped connection) it sends the same request again
// with the same key. The service runs the charge at most once per (merchant, key) and replays
// the stored receipt to every retry, so the card is charged once however often it is retried.

#include <bulwark/idempotency.hpp>
#include <cstdint>
#include <iostream>
#include <string>

namespace {

struct charge_request {
  std::string merchant;         // who is authenticated: the key's scope
  std::string idempotency_key;  // the client's Idempotency-Key header
  std::string card;
  std::int64_t amount_cents = 0;
  std::string currency;
};

// The fields that define the operation, in a fixed order: two requests with the same
// canonical form are the same charge. Its hash64 is the fingerprint.
std::string canonical(const charge_request& r) {
  return r.card + '|' + std::to_string(r.amount_cents) + '|' + r.currency;
}

struct receipt {
  std::uint64_t charge_id = 0;
  std::int64_t amount_cents = 0;
};

// The card network: every call here moves money.
struct card_network {
  int charges = 0;
  receipt charge(const charge_request& r) {
    return {static_cast<std::uint64_t>(++charges), r.amount_cents};
  }
};

// HTTP-like answers, as the IETF Idempotency-Key draft maps them.
struct response {
  int status = 200;
  std::string body;
};

class payment_service {
 public:
  explicit payment_service(card_network& network) : network_{network} {}

  response handle(const charge_request& r) {
    try {
      auto result = executor_.execute({r.merchant, r.idempotency_key}, canonical(r),
                                      [&] { return network_.charge(r); });
      return {200, "charge " + std::to_string(result.value.charge_id) +
                       (result.replayed ? " (replayed)" : " (new)")};
    } catch (const bulwark::invalid_idempotency_key& e) {
      return {400, e.what()};
    } catch (const bulwark::request_in_progress& e) {
      return {409, e.what()};
    } catch (const bulwark::key_reused& e) {
      return {422, e.what()};
    }
  }

  // For the demonstration of a concurrent duplicate: a charge that has begun and not finished.
  auto begin_without_finishing(const charge_request& r) {
    return executor_.try_begin({r.merchant, r.idempotency_key}, canonical(r));
  }

 private:
  card_network& network_;
  bulwark::memory_store<receipt> store_{{.max_entries = 10'000}};
  bulwark::idempotency_executor<bulwark::memory_store<receipt>> executor_{store_};
};

}  // namespace

int main() {
  card_network network;
  payment_service service{network};

  const charge_request pay{"merchant-7", "8e03978e-40d5-43e8", "4242", 1999, "EUR"};
  // The first delivery, and two retries after the client lost the response.
  for (int delivery = 1; delivery <= 3; ++delivery) {
    const response r = service.handle(pay);
    std::cout << "delivery " << delivery << ": " << r.status << ' ' << r.body << '\n';
  }
  std::cout << "card charged " << network.charges << " time(s) for 3 deliveries\n";

  // Another merchant using the same key string is another key: merchants never share records.
  charge_request other_merchant = pay;
  other_merchant.merchant = "merchant-9";
  std::cout << "other merchant, same key: " << service.handle(other_merchant).body << '\n';

  // The same key for a different charge is a client bug: 422, nothing charged.
  charge_request changed = pay;
  changed.amount_cents = 5000;
  const response reused = service.handle(changed);
  std::cout << "same key, other amount: " << reused.status << ' ' << reused.body << '\n';

  // A duplicate arriving while the first is still running: 409, nothing charged.
  charge_request slow = pay;
  slow.idempotency_key = "b71c-slow";
  auto first = service.begin_without_finishing(slow);
  const response busy = service.handle(slow);
  std::cout << "duplicate while in progress: " << busy.status << ' ' << busy.body << '\n';
  first.permit.complete(network.charge(slow));  // the first finishes; retries now replay it

  std::cout << "charges in total: " << network.charges << '\n';
  return network.charges == 3 ? 0 : 1;
}
