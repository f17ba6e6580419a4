// Sampling on CPU, one logits row per task. The exact procedure (the CUDA kernel reproduces it):
//   raw log-probs: logprob(i) = raw[i] - (max + log(sum exp(raw - max)))     (sum in f64)
//   penalty     : over the unique penalty ids, l = l > 0 ? l / p : l * p
//   greedy      : argmax of the penalized logits, lowest id on ties
//   otherwise   : z = l / temperature; e(i) = exp(z(i) - max z) (f32); order = z descending, id ascending
//                 top-k : keep the first k of that order
//                 W     = sum of e over the top-k set (f64)
//                 min-p : keep e(i) >= min_p (i.e. prob >= min_p * max prob)
//                 top-p : walk the order, keep up to and including the first token where the running sum of e
//                         reaches top_p * W (W from before min-p); at least one token
//                 draw  : u = random_uniform(seed, step); walk the kept tokens in order with a running f64 sum
//                         and pick the first whose running sum exceeds u * (sum of e over the kept tokens)
// Only as much of the order is sorted as the walk needs (a 256-token prefix first, everything if needed).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>

#include "kernels/cpu/cpu_ops.h"
#include "ops/random.h"

namespace turbolm::cpu {
namespace {

SampleResult sample_row(float* logits, int64_t V, const SamplingParams& sp, std::span<const int32_t> penalty) {
  SampleResult res;
  // Raw log-softmax statistics before anything modifies the row.
  float raw_max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < V; ++i) raw_max = std::max(raw_max, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(static_cast<double>(logits[i]) - raw_max);
  const double lse = raw_max + std::log(sum);
  const auto raw_desc = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  if (sp.num_logprobs > 0) {
    const int64_t n = std::min<int64_t>(sp.num_logprobs, V);
    std::vector<int32_t> ids(V);
    for (int64_t i = 0; i < V; ++i) ids[i] = static_cast<int32_t>(i);
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), raw_desc);
    for (int64_t i = 0; i < n; ++i) res.top_logprobs.emplace_back(ids[i], static_cast<float>(logits[ids[i]] - lse));
  }

  // Repetition penalty, remembering the raw values it overwrites.
  std::vector<std::pair<int32_t, float>> saved;
  if (sp.repetition_penalty != 1.0f && !penalty.empty()) {
    std::vector<int32_t> ids(penalty.begin(), penalty.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int32_t id : ids) {
      if (id < 0 || id >= V) continue;
      saved.emplace_back(id, logits[id]);
      float& l = logits[id];
      l = l > 0.0f ? l / sp.repetition_penalty : l * sp.repetition_penalty;
    }
  }
  const auto raw_logit = [&](int32_t id) {
    for (const auto& [i, l] : saved)
      if (i == id) return l;
    return logits[id];
  };

  if (sp.greedy) {
    int32_t best = 0;
    for (int64_t i = 1; i < V; ++i)
      if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
    res.token = best;
    res.logprob = static_cast<float>(raw_logit(best) - lse);
    return res;
  }

  // Temperature into a copy (the row keeps the penalized logits, so raw_logit stays exact), then candidates in
  // (z desc, id asc) order.
  const float temp = sp.temperature;
  std::vector<float> z(static_cast<size_t>(V));
  float zmax = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < V; ++i) {
    z[i] = logits[i] / temp;
    zmax = std::max(zmax, z[i]);
  }
  const auto desc = [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); };
  std::vector<int32_t> cand(V);
  for (int64_t i = 0; i < V; ++i) cand[i] = static_cast<int32_t>(i);
  if (sp.top_k > 0 && sp.top_k < V) {
    std::nth_element(cand.begin(), cand.begin() + (sp.top_k - 1), cand.end(), desc);
    cand.resize(sp.top_k);
  }
  const auto weight = [&](int32_t id) { return std::exp(z[id] - zmax); };
  double total = 0.0;  // W: the top-k set's mass, before min-p
  for (int32_t id : cand) total += weight(id);
  if (sp.min_p > 0.0f) {
    std::erase_if(cand, [&](int32_t id) { return weight(id) < sp.min_p; });
  }
  const double top_p_mass = sp.top_p < 1.0f ? static_cast<double>(sp.top_p) * total : 0.0;
  const double u = random_uniform(sp.seed, sp.step);

  // Sort a prefix; fall back to the whole order only when the walk runs past it.
  const int64_t n = static_cast<int64_t>(cand.size());
  for (int64_t sorted = std::min<int64_t>(n, 256);; sorted = n) {
    std::partial_sort(cand.begin(), cand.begin() + sorted, cand.end(), desc);
    // Kept prefix: top-p cut (when on) inside the sorted part, else all candidates.
    int64_t kept = n;
    double kept_mass = 0.0, run = 0.0;
    if (sp.top_p < 1.0f) {
      for (int64_t i = 0; i < sorted; ++i) {
        run += weight(cand[i]);
        if (run >= top_p_mass) {
          kept = i + 1;
          break;
        }
      }
      if (kept == n && sorted < n) continue;  // cut not reached within the sorted prefix
    }
    if (kept == n) {
      for (int32_t id : cand) kept_mass += weight(id);
    } else {
      kept_mass = run;
    }
    const double target = u * kept_mass;
    double acc = 0.0;
    int64_t pick = -1;
    for (int64_t i = 0; i < std::min(kept, sorted); ++i) {
      acc += weight(cand[i]);
      if (acc > target) {
        pick = i;
        break;
      }
    }
    if (pick < 0 && sorted < n) continue;
    if (pick < 0) pick = kept - 1;  // rounding: u * mass at the very top
    res.token = cand[pick];
    break;
  }
  res.logprob = static_cast<float>(raw_logit(res.token) - lse);
  return res;
}

}  // namespace

std::vector<SampleResult> sample(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                                 std::span<const std::span<const int32_t>> penalty_tokens) {
  const int64_t S = logits.dim(0), V = logits.dim(1);
  std::vector<SampleResult> results(S);
  float* data = logits.data<float>();
  ThreadPool& pool = ctx.threads();
  std::atomic<int64_t> next{0};
  pool.parallel_for(std::min<int64_t>(S, pool.num_threads()), [&](int64_t, int64_t) {
    for (int64_t s = next.fetch_add(1); s < S; s = next.fetch_add(1)) {
      const std::span<const int32_t> pen =
          s < static_cast<int64_t>(penalty_tokens.size()) ? penalty_tokens[s] : std::span<const int32_t>{};
      results[s] = sample_row(data + s * V, V, params[s], pen);
    }
  });
  return results;
}

SampleFuture sample_async(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                          std::span<const std::span<const int32_t>> penalty_tokens) {
  auto results = std::make_shared<std::vector<SampleResult>>(cpu::sample(ctx, logits, params, penalty_tokens));
  Tensor ids = Tensor::empty({static_cast<int64_t>(results->size())}, DType::kI32);
  for (size_t s = 0; s < results->size(); ++s) ids.data<int32_t>()[s] = (*results)[s].token;
  return SampleFuture(std::move(ids), [results] { return std::move(*results); });
}

void resolve_feedback_tokens(const ExecContext&, const Tensor& sampled, Tensor& ids) {
  const int64_t R = sampled.numel();
  const int32_t* from = sampled.data<int32_t>();
  int32_t* to = ids.data<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (to[i] >= 0) continue;
    const int64_t row = -static_cast<int64_t>(to[i]) - 1;
    TLM_CHECK_ARG(row < R) << "resolve_feedback_tokens: token " << i << " takes sampled row " << row << " of " << R;
    to[i] = from[row];
  }
}

}  // namespace turbolm::cpu
