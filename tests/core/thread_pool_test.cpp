// ThreadPool (codec/thread_pool.cpp) and the encoders and decoders that code chunks on it.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "codec/parallel.hpp"
#include "ftc/ftc.hpp"

using namespace ftc;

TEST_CASE("a pool runs every index exactly once, with the caller taking part") {
  ThreadPool pool(3);
  CHECK(pool.workers() == 3);
  for (std::size_t n : {0u, 1u, 2u, 7u, 1000u}) {
    std::vector<std::atomic<int>> hits(n);
    pool.run(n, 4, [&](std::size_t i) { hits[i].fetch_add(1); });
    for (std::size_t i = 0; i < n; ++i) CHECK(hits[i].load() == 1);
  }
  CHECK(pool.threads_started() == 3);
}

TEST_CASE("max_threads bounds how many threads take part in a call") {
  ThreadPool pool(4);
  std::mutex m;
  std::vector<std::thread::id> seen;
  std::atomic<int> inside{0}, most{0};
  pool.run(64, 2, [&](std::size_t) {
    const int now = inside.fetch_add(1) + 1;
    int prev = most.load();
    while (now > prev && !most.compare_exchange_weak(prev, now)) {}
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    inside.fetch_sub(1);
  });
  CHECK(most.load() <= 2);
}

TEST_CASE("parallel_for reports the first failure in index order whatever the schedule") {
  ThreadPool pool(3);
  for (int rep = 0; rep < 50; ++rep) {
    Status s = parallel_for(&pool, 100, 4, [&](std::size_t i) {
      if (i == 17 || i == 63) return Status{StatusCode::corrupt, "at " + std::to_string(i)};
      return Status{};
    });
    CHECK(s.message() == "at 17");
  }
}

TEST_CASE("10,000 small frames decode through one decoder on one pool of 4 threads, with no thread started per call") {
  // Eight chunks of 64 elements a frame, so every decode call spreads over the pool.
  std::vector<float> x(512);
  EncoderOptions o;
  o.bits = 6;
  o.coder = CoderKind::rans;
  o.chunk_elements = 64;
  std::vector<std::vector<std::uint8_t>> frames;
  for (int k = 0; k < 16; ++k) {
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7 + static_cast<std::size_t>(k) * 13) % 50) * 0.1f;
    const std::int64_t shape[] = {8, 64};
    auto f = Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data()));
    REQUIRE(f.ok());
    frames.push_back(std::move(f).value());
  }
  Decoder single;
  std::vector<Tensor> expect;
  for (const auto& f : frames) {
    auto t = single.decode(f);
    REQUIRE(t.ok());
    expect.push_back(std::move((*t)[0].tensor));
  }

  auto pool = std::make_shared<ThreadPool>(3);
  Decoder decoder;
  decoder.threads = 4;
  decoder.set_pool(pool);
  int mismatches = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::size_t k = static_cast<std::size_t>(i) % frames.size();
    auto t = decoder.decode(frames[k]);
    if (!t.ok() || std::memcmp((*t)[0].tensor.data(), expect[k].data(), expect[k].byte_size()) != 0) ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(pool->threads_started() == 3);
}

TEST_CASE("an encoder on a pool reuses it across calls and copies, with the single-threaded bytes") {
  std::vector<float> x(4096);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97);
  const std::int64_t shape[] = {4096};
  EncoderOptions o;
  o.coder = CoderKind::rans;
  o.chunk_elements = 256;
  const auto one = Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data()));
  REQUIRE(one.ok());
  o.threads = 4;
  auto pool = std::make_shared<ThreadPool>(2);
  Encoder enc(o);
  enc.set_pool(pool);
  const Encoder copy = enc;
  for (int i = 0; i < 200; ++i) {
    auto f = (i % 2 ? copy : enc).encode(TensorView::contiguous(DType::f32, shape, x.data()));
    REQUIRE(f.ok());
    CHECK(*f == *one);
  }
  CHECK(pool->threads_started() == 2);
}
