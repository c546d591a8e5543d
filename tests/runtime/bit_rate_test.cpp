// runtime/bit_rate.cpp: link rates as --uplink takes them.
#include "runtime/bit_rate.hpp"

#include <doctest/doctest.h>

using ftc::runtime::parse_bit_rate;

TEST_CASE("rates with SI prefixes, in bits per second") {
  CHECK(*parse_bit_rate("1mbit") == 1e6);
  CHECK(*parse_bit_rate("1Mbit") == 1e6);
  CHECK(*parse_bit_rate("0.1mbit") == doctest::Approx(1e5));
  CHECK(*parse_bit_rate("250kbit") == 250e3);
  CHECK(*parse_bit_rate("10mbps") == 10e6);
  CHECK(*parse_bit_rate("2gbit") == 2e9);
  CHECK(*parse_bit_rate("56000") == 56000);
  CHECK(*parse_bit_rate("1.5 Mbit/s") == 1.5e6);
  CHECK(*parse_bit_rate("1e6") == 1e6);
}

TEST_CASE("bad rates are refused with the text in the message") {
  for (const char* bad : {"", "mbit", "0", "-1mbit", "1xbit", "1m", "1mb", "fast", "1e", "inf", "nan"}) {
    auto r = parse_bit_rate(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.status().message().find("bit rate") != std::string::npos);
  }
}
