#include "ops/elementwise.h"

#include <cstring>

#include "core/allocator.h"
#include "ops/dispatch.h"

namespace turbolm {
using namespace ops_detail;

void silu_mul(const ExecContext& ctx, const Tensor& gate_up, Tensor& out) {
  constexpr std::string_view op = "silu_mul";
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gate_up, &out}) {
    check_device(op, ctx, *t, "a tensor");
    check_float(op, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
  }
  TLM_CHECK_ARG(out.rank() >= 1 && gate_up.rank() == out.rank())
      << "silu_mul: gate_up " << gate_up.to_string() << " and out " << out.to_string() << " differ in rank";
  Shape expected = out.shape();
  expected.back() *= 2;
  check_shape(op, gate_up, expected, "gate_up");
  TLM_DISPATCH(ctx, silu_mul, ctx, gate_up, out);
}

void add(const ExecContext& ctx, const Tensor& a, const Tensor& b, Tensor& out) {
  constexpr std::string_view op = "add";
  for (const Tensor* t : std::initializer_list<const Tensor*>{&a, &b, &out}) {
    check_device(op, ctx, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
    check_dtype(op, *t, a.dtype(), "every tensor");
  }
  check_float(op, a, "a");
  check_shape(op, b, a.shape(), "b");
  check_shape(op, out, a.shape(), "out");
  TLM_DISPATCH(ctx, add, ctx, a, b, out);
}

void embedding(const ExecContext& ctx, const Tensor& ids, const Tensor& table, Tensor& out) {
  constexpr std::string_view op = "embedding";
  for (const Tensor* t : std::initializer_list<const Tensor*>{&ids, &table, &out}) {
    check_device(op, ctx, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
  }
  check_dtype(op, ids, DType::kI32, "ids");
  check_float(op, table, "table");
  check_float(op, out, "out");
  TLM_CHECK_ARG(table.rank() == 2) << "embedding: table must be [V, H], got " << table.to_string();
  check_shape(op, out, {ids.numel(), table.dim(1)}, "out");
  TLM_DISPATCH(ctx, embedding, ctx, ids, table, out);
}

void gather_rows(const ExecContext& ctx, const Tensor& x, const Tensor& rows, Tensor& out) {
  constexpr std::string_view op = "gather_rows";
  check_device(op, ctx, x, "x");
  check_device(op, ctx, out, "out");
  check_contiguous(op, x, "x");
  check_contiguous(op, out, "out");
  check_dtype(op, rows, DType::kI32, "rows");
  TLM_CHECK_ARG(rows.device().is_cpu()) << "gather_rows: rows must be host indices";
  TLM_CHECK_ARG(x.rank() >= 1) << "gather_rows: x must have rows";
  Shape expected = x.shape();
  expected[0] = rows.numel();
  check_shape(op, out, expected, "out");
  check_dtype(op, out, x.dtype(), "out");
  TLM_DISPATCH(ctx, gather_rows, ctx, x, rows, out);
}

void split_columns(const ExecContext& ctx, const Tensor& src, std::initializer_list<Tensor*> parts) {
  constexpr std::string_view op = "split_columns";
  check_device(op, ctx, src, "src");
  check_contiguous(op, src, "src");
  TLM_CHECK_ARG(src.rank() == 2) << "split_columns: src must be [T, C], got " << src.to_string();
  TLM_CHECK_ARG(parts.size() >= 1 && parts.size() <= kMaxSplitParts)
      << "split_columns: 1.." << kMaxSplitParts << " parts, got " << parts.size();
  int64_t columns = 0;
  for (Tensor* p : parts) {
    check_device(op, ctx, *p, "a part");
    check_contiguous(op, *p, "a part");
    check_dtype(op, *p, src.dtype(), "a part");
    TLM_CHECK_ARG(p->rank() == 2 && p->dim(0) == src.dim(0))
        << "split_columns: part " << p->to_string() << " must be [" << src.dim(0) << ", C_i]";
    columns += p->dim(1);
  }
  TLM_CHECK_ARG(columns == src.dim(1)) << "split_columns: the parts hold " << columns << " columns, src "
                                       << src.to_string() << " has " << src.dim(1);
  TLM_DISPATCH(ctx, split_columns, ctx, src, parts);
}

void copy(const ExecContext& ctx, const Tensor& src, Tensor& dst) {
  constexpr std::string_view op = "copy";
  check_contiguous(op, src, "src");
  check_contiguous(op, dst, "dst");
  check_shape(op, dst, src.shape(), "dst");
  check_dtype(op, dst, src.dtype(), "dst");
  if (src.device().is_cpu() && dst.device().is_cpu()) return cpu::copy(ctx, src, dst);
#if TLM_OPS_HAVE_CUDA
  return cuda::copy(ctx, src, dst);
#else
  TLM_FAIL(kUnsupported) << "copy: " << src.device().to_string() << " -> " << dst.device().to_string()
                         << " needs the CUDA backend, which this build does not have";
#endif
}

void convert(const ExecContext& ctx, const Tensor& src, Tensor& dst) {
  constexpr std::string_view op = "convert";
  for (const Tensor* t : std::initializer_list<const Tensor*>{&src, &dst}) {
    check_device(op, ctx, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
    check_float(op, *t, "a tensor");
  }
  check_shape(op, dst, src.shape(), "dst");
  TLM_DISPATCH(ctx, convert, ctx, src, dst);
}

}  // namespace turbolm
