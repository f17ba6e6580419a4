// Element-wise and gather ops on CPU: silu_mul, add, embedding, gather_rows, split_columns, copy, convert.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/row_io.h"

namespace turbolm::cpu {

void silu_mul(const ExecContext& ctx, const Tensor& gate_up, Tensor& out) {
  const VecOps& v = vec_ops(active_isa());
  const int64_t I = out.dim(-1), T = out.numel() / I;
  const DType in_t = gate_up.dtype(), out_t = out.dtype();
  const char* gp = static_cast<const char*>(gate_up.data());
  char* op = static_cast<char*>(out.data());
  const size_t in_half = dtype_bytes(in_t, I), out_row = dtype_bytes(out_t, I);
  ctx.threads().parallel_for(
      T,
      [&](int64_t t0, int64_t t1) {
        std::vector<float> g, u, tmp(static_cast<size_t>(I));
        for (int64_t t = t0; t < t1; ++t) {
          const char* row = gp + t * 2 * in_half;  // [gate (I) | up (I)]
          const float* gate = row_as_f32(v, row, in_t, I, g);
          const float* up = row_as_f32(v, row + in_half, in_t, I, u);
          float* dst = out_t == DType::kF32 ? reinterpret_cast<float*>(op + t * out_row) : tmp.data();
          v.silu_mul(gate, up, dst, I);
          store_row(v, dst, op + t * out_row, out_t, I);
        }
      },
      row_grain(I));
}

void add(const ExecContext& ctx, const Tensor& a, const Tensor& b, Tensor& out) {
  const VecOps& v = vec_ops(active_isa());
  const int64_t n = a.numel();
  constexpr int64_t kChunk = 4096;  // elements per task: rows may be tiny or huge, so split the flat range
  const DType dt = a.dtype();
  const size_t es = dtype_bytes(dt, 1);
  ctx.threads().parallel_for(
      (n + kChunk - 1) / kChunk,
      [&](int64_t c0, int64_t c1) {
        std::vector<float> sa, sb, sum;
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
          const float* pa = row_as_f32(v, static_cast<const char*>(a.data()) + i0 * es, dt, len, sa);
          const float* pb = row_as_f32(v, static_cast<const char*>(b.data()) + i0 * es, dt, len, sb);
          char* po = static_cast<char*>(out.data()) + i0 * es;
          if (dt == DType::kF32) {
            v.add(pa, pb, reinterpret_cast<float*>(po), len);
          } else {
            sum.resize(static_cast<size_t>(len));
            v.add(pa, pb, sum.data(), len);
            store_row(v, sum.data(), po, dt, len);
          }
        }
      },
      4);
}

void embedding(const ExecContext& ctx, const Tensor& ids, const Tensor& table, Tensor& out) {
  const VecOps& v = vec_ops(active_isa());
  const int64_t V = table.dim(0), H = table.dim(1), T = ids.numel();
  const int32_t* id = ids.data<int32_t>();
  for (int64_t t = 0; t < T; ++t)
    TLM_CHECK_ARG(id[t] >= 0 && id[t] < V) << "token id " << id[t] << " is out of range for vocabulary size " << V;
  const size_t tb = dtype_bytes(table.dtype(), H), ob = dtype_bytes(out.dtype(), H);
  ctx.threads().parallel_for(
      T,
      [&](int64_t t0, int64_t t1) {
        std::vector<float> row;
        for (int64_t t = t0; t < t1; ++t) {
          const char* src = static_cast<const char*>(table.data()) + id[t] * tb;
          char* dst = static_cast<char*>(out.data()) + t * ob;
          if (table.dtype() == out.dtype()) {
            std::memcpy(dst, src, tb);
          } else {
            store_row(v, row_as_f32(v, src, table.dtype(), H, row), dst, out.dtype(), H);
          }
        }
      },
      row_grain(H));
}

void gather_rows(const ExecContext& ctx, const Tensor& x, const Tensor& rows, Tensor& out) {
  const int64_t T = x.dim(0), R = rows.numel();
  const size_t rb = x.nbytes() / std::max<int64_t>(T, 1);
  const int32_t* r = rows.data<int32_t>();
  for (int64_t i = 0; i < R; ++i)
    TLM_CHECK_ARG(r[i] >= 0 && r[i] < T) << "gather_rows: row " << r[i] << " is out of range for " << T << " rows";
  for (int64_t i = 0; i < R; ++i)
    std::memcpy(static_cast<char*>(out.data()) + i * rb, static_cast<const char*>(x.data()) + r[i] * rb, rb);
}

void split_columns(const ExecContext&, const Tensor& src, std::initializer_list<Tensor*> parts) {
  const int64_t T = src.dim(0);
  const size_t row_bytes = src.nbytes() / std::max<int64_t>(T, 1);
  const char* s = static_cast<const char*>(src.data());
  for (int64_t t = 0; t < T; ++t) {
    size_t offset = 0;
    for (Tensor* p : parts) {
      const size_t bytes = p->nbytes() / static_cast<size_t>(T);
      std::memcpy(static_cast<char*>(p->data()) + t * bytes, s + t * row_bytes + offset, bytes);
      offset += bytes;
    }
  }
}

void copy(const ExecContext& ctx, const Tensor& src, Tensor& dst) {
  const size_t bytes = src.nbytes();
  constexpr size_t kChunk = size_t{1} << 20;  // split big copies so both cores pull memory
  ctx.threads().parallel_for(static_cast<int64_t>((bytes + kChunk - 1) / kChunk), [&](int64_t c0, int64_t c1) {
    const size_t b0 = static_cast<size_t>(c0) * kChunk, b1 = std::min(bytes, static_cast<size_t>(c1) * kChunk);
    std::memcpy(static_cast<char*>(dst.data()) + b0, static_cast<const char*>(src.data()) + b0, b1 - b0);
  });
}

void convert(const ExecContext& ctx, const Tensor& src, Tensor& dst) {
  const VecOps& v = vec_ops(active_isa());
  const int64_t n = src.numel();
  constexpr int64_t kChunk = 8192;
  ctx.threads().parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1) {
    std::vector<float> tmp;
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i0 = c * kChunk, len = std::min(kChunk, n - i0);
      const float* f =
          row_as_f32(v, static_cast<const char*>(src.data()) + dtype_bytes(src.dtype(), i0), src.dtype(), len, tmp);
      store_row(v, f, static_cast<char*>(dst.data()) + dtype_bytes(dst.dtype(), i0), dst.dtype(), len);
    }
  });
}

}  // namespace turbolm::cpu
