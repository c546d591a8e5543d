// Context grouping for the rANS table builder (docs/format-rans.md §4.1 step 4, informative):
// contexts whose histograms are alike share one table through an explicit context map (§1.2,
// mode 2), between one table per context and one shared table.
//
// Divisive 2-means on cross-entropy, integer only. Start from one group of all contexts. A
// group's 2-way split is seeded with the member its table codes worst against the member's own
// table (A) and the member A's table codes worst (B); then every member moves to the side whose
// table codes it cheaper and the sides' histograms are re-merged, for a few rounds. The split
// that lowers the estimated total most is applied, repeatedly, while one lowers it and the work
// budget lasts; the prefix of splits with the lowest total (map included) is kept.
//
// The assignments use 16-bit dense vectors, so that comparing a context with a table is a short
// multiply-add loop (group_dots): each context's histogram as weights w[v] ≈ 2^14·count/total
// (≥ 1 where count > 0), each table as costs in 1/2^10 bit; Σ w·cost ≈ the context's bits a
// symbol under that table, in 1/2^24 bit, below 2^31.
#include <algorithm>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_model_enc.hpp"

namespace ftc::entropy::rans_detail {
namespace {

constexpr std::size_t kMaxValues = 1024;              // dense vectors: only values below this
constexpr std::size_t kMaxWeights = std::size_t{1} << 22;  // contexts · values (8 MiB of weights)
constexpr int kWeightBits = 14;           // context weights sum to ≈ 2^14
constexpr int kCostShift = kLgFrac - 10;  // table costs in 1/2^10 bit
constexpr int kMaxRounds = 3;             // 2-means rounds a split
// estimate_row's least bits for one more table (varints and padding): a group whose payload
// excess over its members' own tables is below two of these is not split.
constexpr std::uint64_t kTableFloor = std::uint64_t{39} << kLgFrac;

// Costs (1/2^10 bit) of each value v < V coded with a table proportional to `m` (total `tot`) at
// precision P, priced as estimate_row prices them: f = clamp(m[v]·2^P / (tot + esc), 1, 2^16),
// cost = norm − lg f with norm = log2(max(Σf, 2^P)); a value that m lacks costs as f = 1.
void table_costs(const std::uint64_t* m, std::size_t V, std::uint64_t tot, int P, std::uint64_t esc,
                 std::int16_t* out, std::uint32_t* f) {
  const auto& lg = lg_table();
  const u128 t = static_cast<u128>(tot) + esc;
  // m[v] ≤ t and scale ≤ 2^(P+40) / t: m[v]·scale ≤ 2^56.
  const std::uint64_t scale = t ? static_cast<std::uint64_t>((static_cast<u128>(1) << (P + 40)) / t) : 0;
  auto f_of = [scale](std::uint64_t c) -> std::uint32_t {
    const std::uint64_t q = (c * scale) >> 40;
    return q < 1 ? 1u : q > (1u << 16) ? (1u << 16) : static_cast<std::uint32_t>(q);
  };
  std::uint64_t sumf = esc ? f_of(esc) : 0;
  for (std::size_t v = 0; v < V; ++v) {
    f[v] = m[v] ? f_of(m[v]) : 1u;
    sumf += m[v] ? f[v] : 0;
  }
  const std::uint64_t norm = sumf > (std::uint64_t{1} << P) ? lg_any(sumf) : static_cast<std::uint64_t>(P) << kLgFrac;
  for (std::size_t v = 0; v < V; ++v)
    out[v] = static_cast<std::int16_t>(std::min<std::uint64_t>((norm - lg[f[v]]) >> kCostShift, 32767));
}

// m[v] ± row c's count of v.
void add_counts(const SparseRows& rows, std::uint32_t c, std::uint64_t* m, bool add) {
  const std::uint32_t* value = rows.value.data();
  const std::uint64_t* count = rows.count.data();
  const std::size_t b = rows.begin[c], e = rows.begin[c + 1];
  if (add) for (std::size_t i = b; i < e; ++i) m[value[i]] += count[i];
  else for (std::size_t i = b; i < e; ++i) m[value[i]] -= count[i];
}

struct Group {
  std::vector<std::uint32_t> members;  // contexts, increasing
  std::vector<std::uint64_t> merged;   // V entries
  std::uint64_t total = 0;
  std::uint64_t est = 0;               // estimate_row of merged, with table bits
  // The best 2-way split found, when it lowers the estimate (gain > 0).
  std::uint64_t gain = 0;
  std::vector<std::uint32_t> side_a, side_b;
  std::vector<std::uint64_t> merged_a;
  std::uint64_t total_a = 0, est_a = 0, est_b = 0;
};

class Grouper {
 public:
  // Work units (about a nanosecond each): a dot product len/32, a table's costs V, an
  // estimate 2·V.
  Grouper(const SparseRows& rows, std::size_t groups, std::size_t V, int P, std::uint64_t esc,
          std::span<const std::uint64_t> self, std::uint64_t budget)
      : rows_(rows), V_(V), Vp_((V + 63) / 64 * 64), P_(P), esc_(esc), self_(self), budget_(budget),
        w_(groups * Vp_, 0), dot_(groups, 0), next_(groups, 0), in_a_(groups, 0), da_(groups), db_(groups),
        ca_(Vp_, 0), cb_(Vp_, 0), f_(V), ma_(V), mb_(V) {}

  // Group 0: every context with symbols (merged: their histogram); each context's weights and
  // its cost under group 0's table.
  void start(const std::vector<std::uint32_t>& active, std::span<const std::uint64_t> merged) {
    Group g;
    g.members = active;
    g.merged.assign(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(V_));
    const std::uint32_t* value = rows_.value.data();
    const std::uint64_t* count = rows_.count.data();
    for (std::uint32_t c : active) {
      // w = count·2^14 / total through a 2^-32 reciprocal: count ≤ total < 2^34, product < 2^47.
      const std::uint64_t rcp = (std::uint64_t{1} << (kWeightBits + 32)) / rows_.total[c];
      std::int16_t* w = &w_[c * Vp_];
      for (std::size_t i = rows_.begin[c], e = rows_.begin[c + 1]; i < e; ++i) {
        const std::uint64_t q = (count[i] * rcp) >> 32;
        w[value[i]] = static_cast<std::int16_t>(q < 1 ? 1 : q);
      }
      g.total += rows_.total[c];
    }
    g.est = estimate_dense(g.merged.data());
    costs_of(g.merged.data(), g.total, ca_.data());
    dots(active, ca_.data(), nullptr);
    for (std::size_t j = 0; j < active.size(); ++j) dot_[active[j]] = da_[j];
    groups_.push_back(std::move(g));
    try_split(0);
  }

  std::size_t size() const { return groups_.size(); }
  const Group& group(std::size_t i) const { return groups_[i]; }
  std::uint32_t parent(std::size_t i) const { return parent_[i]; }

  // The group whose split lowers the estimate most (ties: lowest index), or SIZE_MAX.
  std::size_t best_split() const {
    std::size_t best = SIZE_MAX;
    for (std::size_t i = 0; i < groups_.size(); ++i)
      if (groups_[i].gain && (best == SIZE_MAX || groups_[i].gain > groups_[best].gain)) best = i;
    return best;
  }

  // Splits group i: side a keeps index i, side b becomes the last group. Then looks for the
  // best splits of both.
  void apply_split(std::size_t i) {
    Group b;
    {
      Group& g = groups_[i];
      b.members = std::move(g.side_b);
      b.merged = std::move(g.merged);
      for (std::size_t v = 0; v < V_; ++v) b.merged[v] -= g.merged_a[v];
      b.total = g.total - g.total_a;
      b.est = g.est_b;
      g.members = std::move(g.side_a);
      g.merged = std::move(g.merged_a);
      g.total = g.total_a;
      g.est = g.est_a;
      g.gain = 0;
      for (std::uint32_t c : g.members) dot_[c] = next_[c];
    }
    for (std::uint32_t c : b.members) dot_[c] = next_[c];
    groups_.push_back(std::move(b));
    parent_.push_back(static_cast<std::uint32_t>(i));
    try_split(i);
    try_split(groups_.size() - 1);
  }

 private:
  void dots(const std::vector<std::uint32_t>& ctx, const std::int16_t* ca, const std::int16_t* cb) {
    group_dots(w_.data(), Vp_, ctx.data(), ctx.size(), ca, cb, Vp_, da_.data(), cb ? db_.data() : nullptr);
    work_ += ctx.size() * (Vp_ / 32) * (cb ? 2 : 1);
  }
  void costs_of(const std::uint64_t* m, std::uint64_t tot, std::int16_t* out) {
    table_costs(m, V_, tot, P_, esc_, out, f_.data());
    work_ += V_;
  }
  std::uint64_t estimate_dense(const std::uint64_t* m) {
    scratch_.clear();
    scratch_.add_row({m, V_});
    work_ += 2 * V_;
    return estimate_row(scratch_, 0, P_, esc_, true);
  }
  // Bits (1/2^24) by which context c's cost under a table (its dot d) exceeds its own payload.
  i128 excess(std::uint32_t c, std::int32_t d) const {
    return static_cast<i128>(rows_.total[c]) * d - static_cast<i128>(self_[c]);
  }
  // Side b is the group less side a: mb = merged − ma.
  void side_b(const Group& g) {
    for (std::size_t v = 0; v < V_; ++v) mb_[v] = g.merged[v] - ma_[v];
  }

  void try_split(std::size_t i) {
    Group& g = groups_[i];
    g.gain = 0;
    const std::size_t m = g.members.size();
    if (m < 2 || work_ >= budget_) return;
    u128 self_sum = 0;
    std::uint32_t a = g.members[0];
    for (std::uint32_t c : g.members) {
      self_sum += self_[c];
      if (excess(c, dot_[c]) > excess(a, dot_[a])) a = c;
    }
    // The sides' payloads are about ≥ Σ self and one more table costs ≥ kTableFloor bits.
    if (static_cast<u128>(g.est) <= self_sum + 2 * kTableFloor) return;
    // Seeds: a, and the member that a's table codes worst against its own.
    std::fill(ma_.begin(), ma_.end(), 0);
    add_counts(rows_, a, ma_.data(), true);
    costs_of(ma_.data(), rows_.total[a], ca_.data());
    dots(g.members, ca_.data(), nullptr);
    std::uint32_t b = a;
    i128 bx = 0;
    for (std::size_t j = 0; j < m; ++j) {
      const std::uint32_t c = g.members[j];
      if (c == a) continue;
      const i128 x = excess(c, da_[j]);
      if (b == a || x > bx) { b = c; bx = x; }
    }
    std::fill(mb_.begin(), mb_.end(), 0);
    add_counts(rows_, b, mb_.data(), true);
    costs_of(mb_.data(), rows_.total[b], cb_.data());
    // Round 0 compares the seeds' tables; side a starts empty, side b holds the group.
    std::fill(ma_.begin(), ma_.end(), 0);
    std::uint64_t ta = 0;
    std::size_t count_a = 0;
    for (std::uint32_t c : g.members) in_a_[c] = 0;
    for (int round = 0; round < kMaxRounds; ++round) {
      if (round > 0) {
        if (work_ >= budget_) break;
        side_b(g);
        costs_of(ma_.data(), ta, ca_.data());
        costs_of(mb_.data(), g.total - ta, cb_.data());
      }
      dots(g.members, ca_.data(), cb_.data());
      std::size_t moves = 0;
      for (std::size_t j = 0; j < m; ++j) {
        const std::uint32_t c = g.members[j];
        const bool to_a = da_[j] < db_[j];  // ties: side b
        next_[c] = to_a ? da_[j] : db_[j];
        if (to_a == (in_a_[c] != 0)) continue;
        ++moves;
        in_a_[c] = to_a;
        add_counts(rows_, c, ma_.data(), to_a);
        if (to_a) { ++count_a; ta += rows_.total[c]; }
        else { --count_a; ta -= rows_.total[c]; }
      }
      if (moves == 0 || count_a == 0 || count_a == m) break;
    }
    if (count_a == 0 || count_a == m) return;
    side_b(g);
    const std::uint64_t ea = estimate_dense(ma_.data()), eb = estimate_dense(mb_.data());
    if (ea >= g.est || eb >= g.est - ea) return;
    g.gain = g.est - ea - eb;
    g.side_a.clear();
    g.side_b.clear();
    for (std::uint32_t c : g.members) (in_a_[c] ? g.side_a : g.side_b).push_back(c);
    g.merged_a = ma_;
    g.total_a = ta;
    g.est_a = ea;
    g.est_b = eb;
  }

  const SparseRows& rows_;
  std::size_t V_, Vp_;  // values; padded for the dot products
  int P_;
  std::uint64_t esc_;
  std::span<const std::uint64_t> self_;
  std::uint64_t budget_;
  std::uint64_t work_ = 0;
  std::vector<std::int16_t> w_;      // context c's weights at c·Vp
  std::vector<Group> groups_;
  std::vector<std::uint32_t> parent_{0};
  std::vector<std::int32_t> dot_;    // each context's dot under its group's table
  std::vector<std::int32_t> next_;   // … under its side's table in its group's split
  std::vector<std::uint8_t> in_a_;   // side a in the split being built
  std::vector<std::int32_t> da_, db_;  // dots of the members, in member order
  std::vector<std::int16_t> ca_, cb_;  // the two sides' table costs
  std::vector<std::uint32_t> f_;
  std::vector<std::uint64_t> ma_, mb_;  // the two sides' histograms
  SparseRows scratch_;
};

}  // namespace

std::uint64_t context_map_cost(std::size_t groups, std::size_t tables) {
  int w = 0;
  while ((std::size_t{1} << w) < tables) ++w;
  return static_cast<std::uint64_t>((groups * static_cast<std::size_t>(w) + 7) / 8 * 8) << kLgFrac;
}

ContextGrouping group_contexts(const SparseRows& rows, std::size_t groups, std::span<const std::uint64_t> merged,
                               int P, std::uint64_t esc_count, std::span<const std::uint64_t> self) {
  ContextGrouping out;
  if (groups < 3 || rows.rows() < groups || self.size() < groups || P < 1 || P > kRansMaxPrecision) return out;
  std::vector<std::uint32_t> active;
  std::size_t V = 0;
  u128 all = 0;
  for (std::size_t c = 0; c < groups; ++c) {
    const std::size_t b = rows.begin[c], e = rows.begin[c + 1];
    if (b == e) continue;
    active.push_back(static_cast<std::uint32_t>(c));
    V = std::max<std::size_t>(V, rows.value[e - 1] + std::size_t{1});
    all += rows.total[c];
  }
  // Exact costs stay below 2^63 with fewer than 2^34 symbols (a symbol costs < 2^29).
  if (active.size() < 2 || V > kMaxValues || merged.size() < V || groups * V > kMaxWeights ||
      all >= (static_cast<u128>(1) << 34))
    return out;
  const std::size_t tmax = std::min({active.size(), groups - 1, static_cast<std::size_t>(kRansMaxTables),
                                     static_cast<std::size_t>(kRansMaxTableSlots >> P)});
  if (tmax < 2) return out;

  // Work budget: 1/16 unit a symbol (a few per cent of coding them), or, when that is more, 24
  // passes over the contexts (a dot product each and a share of the tables' costs) plus the
  // tables' costs and estimates of about 4 splits, capped at 1/4 unit a symbol (small tensors:
  // the first splits hold the gain; on every bench input the cap finds the same groups).
  const std::uint64_t per_pass = active.size() * ((V + 63) / 64 * 2 + 4);
  const std::uint64_t floor = std::min<std::uint64_t>(24 * per_pass + 40 * V, static_cast<std::uint64_t>(all / 4));
  const std::uint64_t budget = std::max<std::uint64_t>(static_cast<std::uint64_t>(all / 16), floor);
  Grouper gr(rows, groups, V, P, esc_count, self, budget);
  gr.start(active, merged);
  std::uint64_t est = gr.group(0).est;
  std::size_t best_t = 0;
  std::uint64_t best_cost = UINT64_MAX;
  while (gr.size() < tmax) {
    const std::size_t i = gr.best_split();
    if (i == SIZE_MAX) break;
    est -= gr.group(i).gain;
    gr.apply_split(i);
    const std::uint64_t cost = est + context_map_cost(groups, gr.size());
    if (cost < best_cost) { best_cost = cost; best_t = gr.size(); }
  }
  if (best_t < 2) return out;
  // Groups created after the best prefix fold back into their ancestors below best_t.
  out.context_table.assign(groups, 0);
  out.rows.assign(best_t, std::vector<std::uint64_t>(V, 0));
  for (std::size_t j = 0; j < gr.size(); ++j) {
    std::size_t t = j;
    while (t >= best_t) t = gr.parent(t);
    for (std::uint32_t c : gr.group(j).members) out.context_table[c] = static_cast<std::uint32_t>(t);
    const auto& m = gr.group(j).merged;
    for (std::size_t v = 0; v < V; ++v) out.rows[t][v] += m[v];
  }
  out.cost = best_cost;
  return out;
}

}  // namespace ftc::entropy::rans_detail
