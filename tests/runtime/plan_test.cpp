// The planner's cost model (runtime/plan.cpp) on fake candidates whose optimum follows from the
// arithmetic, the rate/duration parsers (runtime/bit_rate.cpp, runtime/units.cpp), and the learned-bottleneck report
// reader. Nothing here runs a model.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "runtime/plan.hpp"
#include "runtime/units.hpp"

using namespace ftc;
using namespace ftc::runtime;

namespace {

Candidate device_only(double full_ms, double acc) {
  Candidate c;
  c.name = "device-only";
  c.kind = CandidateKind::device_only;
  c.head_ms = full_ms;
  c.accuracy = acc;
  return c;
}

Candidate remote(const std::string& name, double head, double enc, double dec, double tail, double bytes, double acc,
                 double ref = 0.9) {
  Candidate c;
  c.name = name;
  c.kind = head == 0 ? CandidateKind::cloud : CandidateKind::split;
  c.head_ms = head;
  c.encode_ms = enc;
  c.decode_ms = dec;
  c.tail_ms = tail;
  c.bytes = bytes;
  c.accuracy = acc;
  c.drop_points = (ref - acc) * 100;
  return c;
}

CostParams params(double uplink_bps, double rtt_ms, double slowdown) {
  CostParams p;
  p.uplink_bps = uplink_bps;
  p.rtt_ms = rtt_ms;
  p.device_slowdown = slowdown;
  return p;
}

}  // namespace

TEST_CASE("cost_of: each term of the latency and the energy") {
  const Candidate c = remote("s", 2, 0.5, 0.25, 3, 1000, 0.9);
  CostParams p = params(1e6, 20, 8);
  p.server_speedup = 2;
  p.overhead_bytes = 250;
  const Cost k = cost_of(c, p);
  CHECK(k.head_ms == doctest::Approx(16));
  CHECK(k.encode_ms == doctest::Approx(4));
  CHECK(k.rtt_ms == doctest::Approx(20));
  CHECK(k.transfer_ms == doctest::Approx(1250 * 8 / 1e6 * 1000));  // 10 ms
  CHECK(k.decode_ms == doctest::Approx(0.125));
  CHECK(k.tail_ms == doctest::Approx(1.5));
  CHECK(k.total_ms == doctest::Approx(16 + 4 + 20 + 10 + 0.125 + 1.5));
  // 2 W × 20 ms = 40 mJ; radio (438.39·1 + 1288.04) mW × 10 ms = 17.2643 mJ; waiting
  // 1288.04 mW × 21.625 ms = 27.8539 mJ.
  const EnergyParams e;
  const double expect = 2.0 * 20 + ((e.radio_mw_per_mbit + e.radio_base_mw) * 10 + e.radio_base_mw * 21.625) / 1000;
  CHECK(k.energy_mj == doctest::Approx(expect));

  const Cost d = cost_of(device_only(5, 0.9), p);
  CHECK(d.total_ms == doctest::Approx(40));
  CHECK(d.transfer_ms == 0);
  CHECK(d.rtt_ms == 0);
  CHECK(d.energy_mj == doctest::Approx(80));
}

TEST_CASE("make_plan picks the known optimum and respects the accuracy floor") {
  // Device 10× slower: device-only 50 ms. Cloud: 20 ms RTT + 8 ms for 1000 bytes at 1 Mbit/s + 5.
  // Split A: 1·10 + 0.1·10 + 20 + 200 bytes (1.6 ms) + 0.1 + 4 = 36.7 ms, drop 2 points.
  // Split B: 2·10 + 0 + 20 + 100 bytes (0.8 ms) + 0 + 3 = 43.8 ms, drop 0.
  const std::vector<Candidate> cs = {device_only(5, 0.9), remote("cloud", 0, 0, 0, 5, 1000, 0.9),
                                     remote("A", 1, 0.1, 0.1, 4, 200, 0.88), remote("B", 2, 0, 0, 3, 100, 0.9)};
  auto plan = make_plan(cs, params(1e6, 20, 10), 0.5);
  REQUIRE(plan.ok());
  REQUIRE(plan->best);
  CHECK(cs[*plan->best].name == "cloud");  // 33 ms
  CHECK(plan->costs[1].total_ms == doctest::Approx(33));
  CHECK(plan->costs[2].total_ms == doctest::Approx(36.7));
  REQUIRE(plan->best_within);
  CHECK(cs[*plan->best_within].name == "cloud");

  // At 100 kbit/s the cloud's 80 ms transfer loses: A is the optimum (36.7 + 14.4 = 51.1 > …).
  plan = make_plan(cs, params(1e5, 20, 10), 0.5);
  REQUIRE(plan.ok());
  // device-only 50; cloud 20 + 80 + 5 = 105; A 10 + 1 + 20 + 16 + 0.1 + 4 = 51.1; B 20 + 20 + 8 + 3 = 51.
  CHECK(cs[*plan->best].name == "device-only");
  // The floor of 0.5 points excludes A (2 points) but no optimum changes here; a zero RTT does:
  plan = make_plan(cs, params(1e5, 0, 10), 0.5);
  REQUIRE(plan.ok());
  CHECK(plan->costs[2].total_ms == doctest::Approx(31.1));
  CHECK(plan->costs[3].total_ms == doctest::Approx(31));
  CHECK(cs[*plan->best].name == "B");
  // Made A faster by 1 ms: it wins overall, B within the floor.
  auto faster = cs;
  faster[2].head_ms = 0.9;
  plan = make_plan(faster, params(1e5, 0, 10), 0.5);
  REQUIRE(plan.ok());
  CHECK(cs[*plan->best].name == "A");
  REQUIRE(plan->best_within);
  CHECK(cs[*plan->best_within].name == "B");
  // A floor nothing meets.
  auto strict = faster;
  for (auto& c : strict) c.drop_points += 5;
  plan = make_plan(strict, params(1e5, 0, 10), 0.5);
  REQUIRE(plan.ok());
  CHECK(plan->best);
  CHECK(!plan->best_within);
  // No floor asked: no floor optimum.
  plan = make_plan(faster, params(1e5, 0, 10));
  REQUIRE(plan.ok());
  CHECK(!plan->best_within);
}

TEST_CASE("make_plan: the optimum is never slower than any candidate (random candidates)") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 10);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Candidate> cs = {device_only(u(rng), 0.9)};
    for (int i = 0; i < 8; ++i)
      cs.push_back(remote("c" + std::to_string(i), u(rng), u(rng) / 10, u(rng) / 10, u(rng), u(rng) * 1000,
                          0.8 + u(rng) / 100));
    const double drop = u(rng);
    auto plan = make_plan(cs, params(1e4 + u(rng) * 1e6, u(rng) * 10, 1 + u(rng)), drop);
    REQUIRE(plan.ok());
    for (std::size_t i = 0; i < cs.size(); ++i) {
      CHECK(plan->costs[*plan->best].total_ms <= plan->costs[i].total_ms);
      if (cs[i].drop_points <= drop) {
        REQUIRE(plan->best_within);
        CHECK(plan->costs[*plan->best_within].total_ms <= plan->costs[i].total_ms);
      }
    }
    if (plan->best_within) CHECK(cs[*plan->best_within].drop_points <= drop);
  }
}

TEST_CASE("make_plan: ties go to higher accuracy, then fewer bytes, then the earlier candidate") {
  // Equal totals at 8 Mbit/s, RTT 0: a 1000-byte transfer is 1 ms.
  Candidate a = remote("a", 1, 0, 0, 1, 1000, 0.80);  // 1 + 1 + 1 = 3
  Candidate b = remote("b", 2, 0, 0, 0, 1000, 0.85);  // 2 + 1 + 0 = 3
  auto plan = make_plan({a, b}, params(8e6, 0, 1));
  REQUIRE(plan.ok());
  CHECK(plan->costs[0].total_ms == plan->costs[1].total_ms);
  CHECK(*plan->best == 1);  // higher accuracy
  b.accuracy = a.accuracy;
  Candidate c = b;
  c.name = "c";
  // Same total with fewer bytes and more tail time: 500 bytes = 0.5 ms.
  c.bytes = 500;
  c.tail_ms = 0.5;
  plan = make_plan({a, b, c}, params(8e6, 0, 1));
  REQUIRE(plan.ok());
  CHECK(*plan->best == 2);
  plan = make_plan({a, b}, params(8e6, 0, 1));
  REQUIRE(plan.ok());
  CHECK(*plan->best == 0);  // all equal: the first
  plan = make_plan({b, a}, params(8e6, 0, 1));
  REQUIRE(plan.ok());
  CHECK(*plan->best == 0);
}

TEST_CASE("optimum_changes: the optimum moves where the lines cross, and a sweep agrees") {
  // RTT 0, slowdown 1. Latency in ms as a + b/uplink with b = 8000·bytes:
  //   device-only: 40;  split S: 10 + 8000·1000/u;  cloud C: 2 + 8000·10000/u.
  // C = S at u = 8e7 − 8e6 over 8 → 9e6 bit/s; S = device at 8e6/30 = 266,666.7 bit/s.
  const std::vector<Candidate> cs = {device_only(40, 0.9), remote("C", 0, 0, 0, 2, 10000, 0.9),
                                     remote("S", 5, 1, 1, 3, 1000, 0.9)};
  auto changes = optimum_changes(cs, params(1e6, 0, 1));
  REQUIRE(changes.ok());
  REQUIRE(changes->size() == 2);
  CHECK((*changes)[0].uplink_bps == doctest::Approx(9e6));
  CHECK((*changes)[0].above == 1);
  CHECK((*changes)[0].below == 2);
  CHECK((*changes)[1].uplink_bps == doctest::Approx(8e6 / 30));
  CHECK((*changes)[1].above == 2);
  CHECK((*changes)[1].below == 0);
  // make_plan on either side of each crossing agrees.
  for (const auto& ch : *changes) {
    auto above = make_plan(cs, params(ch.uplink_bps * 1.01, 0, 1));
    auto below = make_plan(cs, params(ch.uplink_bps * 0.99, 0, 1));
    REQUIRE(above.ok());
    REQUIRE(below.ok());
    CHECK(*above->best == ch.above);
    CHECK(*below->best == ch.below);
  }
  // A sweep over 0.1, 1, 10 Mbit/s: device-only, S, C.
  const std::size_t expect[] = {0, 2, 1};
  int k = 0;
  for (double u : {1e5, 1e6, 1e7}) {
    auto plan = make_plan(cs, params(u, 0, 1));
    REQUIRE(plan.ok());
    CHECK(*plan->best == expect[k++]);
  }
  // A floor that excludes S: the optimum goes from C straight to device-only, where 2 + 8e7/u = 40.
  auto floored = cs;
  floored[2].drop_points = 3;
  changes = optimum_changes(floored, params(1e6, 0, 1), 1.0);
  REQUIRE(changes.ok());
  REQUIRE(changes->size() == 1);
  CHECK((*changes)[0].uplink_bps == doctest::Approx(8e7 / 38));
  CHECK((*changes)[0].above == 1);
  CHECK((*changes)[0].below == 0);
}

TEST_CASE("optimum_changes agrees with make_plan on random candidates") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<Candidate> cs = {device_only(20 + 40 * u(rng), 0.9)};
    for (int i = 0; i < 6; ++i)
      cs.push_back(remote("c" + std::to_string(i), 10 * u(rng), u(rng), u(rng), 10 * u(rng), 20000 * u(rng), 0.9));
    const CostParams p = params(1e6, 10 * u(rng), 2);
    auto changes = optimum_changes(cs, p);
    REQUIRE(changes.ok());
    // Between consecutive crossings (and beyond the last) the optimum is the one they name.
    std::vector<double> probes;
    std::vector<std::size_t> expected;
    double hi = 1e12;
    std::size_t cur = changes->empty() ? 0 : (*changes)[0].above;
    if (changes->empty()) {
      auto plan = make_plan(cs, p);
      REQUIRE(plan.ok());
      cur = *plan->best;
    }
    for (const auto& ch : *changes) {
      CHECK(ch.uplink_bps < hi);
      CHECK(ch.above == cur);
      probes.push_back(std::sqrt(ch.uplink_bps * std::min(hi, ch.uplink_bps * 100)));
      expected.push_back(cur);
      hi = ch.uplink_bps;
      cur = ch.below;
    }
    probes.push_back(hi / 100);
    expected.push_back(cur);
    for (std::size_t i = 0; i < probes.size(); ++i) {
      CostParams q = p;
      q.uplink_bps = probes[i];
      auto plan = make_plan(cs, q);
      REQUIRE(plan.ok());
      CHECK(plan->costs[*plan->best].total_ms == doctest::Approx(plan->costs[expected[i]].total_ms));
    }
  }
}

TEST_CASE("make_plan refuses bad parameters and candidates") {
  const std::vector<Candidate> cs = {device_only(1, 1)};
  for (auto bad : {params(0, 0, 1), params(-1, 0, 1), params(1e6, -1, 1), params(1e6, 0, 0), params(NAN, 0, 1)})
    CHECK(make_plan(cs, bad).status().code() == StatusCode::invalid_argument);
  CHECK(make_plan(cs, params(1e6, 0, 1), -1.0).status().code() == StatusCode::invalid_argument);
  auto c = cs;
  c[0].head_ms = -1;
  CHECK(make_plan(c, params(1e6, 0, 1)).status().code() == StatusCode::invalid_argument);
  auto empty = make_plan({}, params(1e6, 0, 1));
  REQUIRE(empty.ok());
  CHECK(!empty->best);
}

TEST_CASE("parse_bit_rate and parse_duration") {
  struct Case {
    const char* text;
    double bps;
  };
  for (const Case& c : {Case{"100kbit", 1e5}, {"1mbit", 1e6}, {"1.5Mbit/s", 1.5e6}, {"10Mbps", 1e7}, {"0.1mbit", 1e5},
                        {"2Gbit", 2e9}, {"9600bit/s", 9600}, {"56kbps", 56000}}) {
    auto r = parse_bit_rate(c.text);
    REQUIRE_MESSAGE(r.ok(), c.text);
    CHECK(*r == doctest::Approx(c.bps));
  }
  // A bare number is bit/s (runtime/bit_rate.hpp); "MB" (megabytes to some readers) is refused.
  CHECK(*parse_bit_rate("56000") == 56000);
  for (const char* bad : {"", "mbit", "1MB", "-1mbit", "0mbit", "1e400mbit", "infmbit", "nanmbit",
                          "1mbit/h", "1kbyte", "1mbit/s/s"})
    CHECK_MESSAGE(parse_bit_rate(bad).status().code() == StatusCode::invalid_argument, bad);

  struct D {
    const char* text;
    double s;
  };
  for (const D& d : {D{"20ms", 0.02}, {"0.5s", 0.5}, {"300us", 3e-4}, {"0", 0}, {"0ms", 0}, {"1.5MS", 0.0015}}) {
    auto r = parse_duration(d.text);
    REQUIRE_MESSAGE(r.ok(), d.text);
    CHECK(*r == doctest::Approx(d.s));
  }
  for (const char* bad : {"", "20", "-1ms", "ms", "20 ms", "1min", "infs"})
    CHECK_MESSAGE(parse_duration(bad).status().code() == StatusCode::invalid_argument, bad);
}

TEST_CASE("read_learned_report: fields checked") {
  const auto dir = std::filesystem::temp_directory_path() / ("ftc_plan_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "report.json").string();
  auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write(R"({"at": "/x", "estimated_bits_per_image": 800, "heldout_top1": 0.9, "reference_top1": 0.91,
            "head_macs": 1000, "encoder_macs": 10})");
  auto r = read_learned_report(path);
  REQUIRE(r.ok());
  CHECK(r->at == "/x");
  CHECK(r->estimated_bits_per_image == 800);
  CHECK(r->encoder_macs == 10);
  for (const char* bad : {"[]", "{", R"({"at": 1})",
                          R"({"at": "/x", "estimated_bits_per_image": -1, "heldout_top1": 0.9, "reference_top1": 0.9, "head_macs": 1, "encoder_macs": 1})",
                          R"({"at": "/x", "estimated_bits_per_image": 1, "heldout_top1": 90, "reference_top1": 0.9, "head_macs": 1, "encoder_macs": 1})",
                          R"({"at": "/x", "heldout_top1": 0.9})",
                          R"({"at": "/x", "estimated_bits_per_image": 1, "test": 3})",
                          R"({"at": "/x", "estimated_bits_per_image": 1, "head_macs": "many"})"}) {
    write(bad);
    CHECK_MESSAGE(read_learned_report(path).status().code() == StatusCode::bad_file, bad);
  }
  CHECK(read_learned_report((dir / "absent.json").string()).status().code() == StatusCode::io_error);
  // Only the two required fields: the rest absent, not zero.
  write(R"({"at": "/x", "estimated_bits_per_image": 378.75})");
  r = read_learned_report(path);
  REQUIRE(r.ok());
  CHECK(!r->heldout_top1);
  CHECK(!r->head_macs);
  // learn.py's test-set block, when complete, is preferred to the held-out figures.
  write(R"({"at": "/x", "estimated_bits_per_image": 800, "heldout_top1": 0.5, "reference_top1": 0.9,
            "test": {"images": 10000, "top1": 0.85, "reference_top1": 0.917, "estimated_bits_per_image": 700}})");
  r = read_learned_report(path);
  REQUIRE(r.ok());
  CHECK(r->estimated_bits_per_image == 700);
  CHECK(*r->heldout_top1 == 0.85);
  CHECK(*r->reference_top1 == 0.917);
  CHECK(r->accuracy_source == "test");
  std::filesystem::remove_all(dir);
}
