// Times oneDNN 2.6 conv/deconv fwd, bwd_d and bwd_w with the source and destination forced to a
// layout (any, abcd, acdb): the measurements behind ConvolutionLayoutChoice (Convolution.swift).
// With bf16, each pass runs as Convolution.swift's bf16 passes do: the operands (source,
// weights, output gradient) in bf16, the results (destination, input and weight gradients)
// in f32.
// Build: gcc -O2 -o /tmp/onednn-conv-layouts scripts/bench/onednn-conv-layouts.c -ldnnl
// Run:   OMP_NUM_THREADS=1 [ONEDNN_MAX_CPU_ISA=AVX2] /tmp/onednn-conv-layouts deconv 128 32 32 32 3 5 1 2 0 any abcd 12
//        arguments: conv or deconv, N C H W K kernel stride pad outpad srcTag dstTag [reps [f32|bf16]]
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CHK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("ERR %d at %s:%d\n", s_, __FILE__, __LINE__); return -1; } } while (0)
static dnnl_engine_t eng; static dnnl_stream_t strm;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static dnnl_memory_t mk(const dnnl_memory_desc_t *md) {
  dnnl_memory_t m; size_t sz = dnnl_memory_desc_get_size(md); void *p; posix_memalign(&p, 64, sz ? sz : 64);
  memset(p, 0, sz);
  if (md->data_type == dnnl_bf16) { unsigned short *h = p; for (size_t i = 0; i < sz / 2; i++) { float v = (float)((i * 7919) % 1000) / 1000.f - 0.5f; unsigned int u; memcpy(&u, &v, 4); h[i] = u >> 16; } }
  else { float *f = p; for (size_t i = 0; i < sz / 4; i++) f[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f; }
  dnnl_memory_create(&m, md, eng, p); return m;
}
static const char *fmt(const dnnl_memory_desc_t *md) {
  static char buf[4][128]; static int k; char *b = buf[k++ % 4];
  // describe strides + inner blocks
  const dnnl_blocking_desc_t *bd = &md->format_desc.blocking; int n = 0;
  n += sprintf(b + n, "s[");
  for (int i = 0; i < md->ndims; i++) n += sprintf(b + n, "%ld%s", (long)bd->strides[i], i + 1 < md->ndims ? "," : "");
  n += sprintf(b + n, "]");
  for (int i = 0; i < bd->inner_nblks; i++) n += sprintf(b + n, "%c%ld", 'a' + bd->inner_idxs[i], (long)bd->inner_blks[i]);
  return b;
}
static double timeit(dnnl_primitive_t p, int nargs, dnnl_exec_arg_t *args, int reps) {
  double best = 1e9;
  for (int r = 0; r < reps + 2; r++) { double t = now(); dnnl_primitive_execute(p, strm, nargs, args); dnnl_stream_wait(strm); t = now() - t; if (r >= 2 && t < best) best = t; }
  return best * 1e3;
}
static double reorder_ms(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b, int reps) {
  if (dnnl_memory_desc_equal(a, b)) return 0;
  dnnl_primitive_desc_t pd; if (dnnl_reorder_primitive_desc_create(&pd, a, eng, b, eng, NULL) != dnnl_success) return -1;
  dnnl_primitive_t p; dnnl_primitive_create(&p, pd);
  dnnl_memory_t ma = mk(a), mb = mk(b); dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ma}, {DNNL_ARG_TO, mb}};
  return timeit(p, 2, args, reps);
}
static dnnl_format_tag_t tagof(const char *s) { if (!strcmp(s, "any")) return dnnl_format_tag_any; if (!strcmp(s, "abcd")) return dnnl_abcd; if (!strcmp(s, "acdb")) return dnnl_acdb; return dnnl_format_tag_any; }
int main(int argc, char **argv) {
  if (argc < 13) { printf("usage: conv|deconv N C H W K k stride pad outpad srcTag dstTag [reps]\n"); return 1; }
  int deconv = !strcmp(argv[1], "deconv");
  long N = atol(argv[2]), C = atol(argv[3]), H = atol(argv[4]), W = atol(argv[5]), K = atol(argv[6]), k = atol(argv[7]), s = atol(argv[8]), p = atol(argv[9]), op = atol(argv[10]);
  dnnl_format_tag_t st = tagof(argv[11]), dt = tagof(argv[12]); int reps = argc > 13 ? atoi(argv[13]) : 5;
  dnnl_data_type_t ot = argc > 14 && !strcmp(argv[14], "bf16") ? dnnl_bf16 : dnnl_f32; // the operands' type
  long OH, OW; if (deconv) { OH = (H - 1) * s - 2 * p + k + op; OW = (W - 1) * s - 2 * p + k + op; } else { OH = (H + 2 * p - k) / s + 1; OW = (W + 2 * p - k) / s + 1; }
  CHK(dnnl_engine_create(&eng, dnnl_cpu, 0)); CHK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
  dnnl_dims_t sd = {N, C, H, W}, wd = {K, C, k, k}, dd = {N, K, OH, OW}, bd = {K}, str = {s, s}, pl = {p, p}, pr = {p - op, p - op};
  // smd/wmd/dmd: the operands' type; sres/wres/dres: f32 results (the same as the operands in f32).
  dnnl_memory_desc_t smd, wmd, dmd, bmd, sres, wres, dres;
  CHK(dnnl_memory_desc_init_by_tag(&smd, 4, sd, ot, st)); CHK(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, ot, dnnl_format_tag_any));
  CHK(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, ot, dt)); CHK(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a));
  CHK(dnnl_memory_desc_init_by_tag(&sres, 4, sd, dnnl_f32, st)); CHK(dnnl_memory_desc_init_by_tag(&wres, 4, wd, dnnl_f32, dnnl_format_tag_any));
  CHK(dnnl_memory_desc_init_by_tag(&dres, 4, dd, dnnl_f32, dt));
  // forward
  dnnl_primitive_desc_t fpd, dpd, wpd; const char *impl;
  if (deconv) { dnnl_deconvolution_desc_t d; CHK(dnnl_deconvolution_forward_desc_init(&d, dnnl_forward_training, dnnl_deconvolution_direct, &smd, &wmd, NULL, &dres, str, pl, pr)); CHK(dnnl_primitive_desc_create(&fpd, &d, NULL, eng, NULL)); }
  else { dnnl_convolution_desc_t d; CHK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct, &smd, &wmd, NULL, &dres, str, pl, pr)); CHK(dnnl_primitive_desc_create(&fpd, &d, NULL, eng, NULL)); }
  if (deconv) { dnnl_deconvolution_desc_t d; CHK(dnnl_deconvolution_backward_data_desc_init(&d, dnnl_deconvolution_direct, &sres, &wmd, &dmd, str, pl, pr)); CHK(dnnl_primitive_desc_create(&dpd, &d, NULL, eng, fpd)); }
  else { dnnl_convolution_desc_t d; CHK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &sres, &wmd, &dmd, str, pl, pr)); CHK(dnnl_primitive_desc_create(&dpd, &d, NULL, eng, fpd)); }
  if (deconv) { dnnl_deconvolution_desc_t d; CHK(dnnl_deconvolution_backward_weights_desc_init(&d, dnnl_deconvolution_direct, &smd, &wres, NULL, &dmd, str, pl, pr)); CHK(dnnl_primitive_desc_create(&wpd, &d, NULL, eng, fpd)); }
  else { dnnl_convolution_desc_t d; CHK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &smd, &wres, NULL, &dmd, str, pl, pr)); CHK(dnnl_primitive_desc_create(&wpd, &d, NULL, eng, fpd)); }
  dnnl_primitive_desc_t pds[3] = {fpd, dpd, wpd}; const char *names[3] = {"fwd", "bwd_d", "bwd_w"};
  // the big side's neighbour layout: blocked by the ISA's block (16 on avx512, 8 on avx2)
  int blk = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core ? 16 : 8;
  dnnl_memory_desc_t sblk, dblk; CHK(dnnl_memory_desc_init_by_tag(&sblk, 4, sd, dnnl_f32, blk == 16 ? dnnl_aBcd16b : dnnl_aBcd8b)); CHK(dnnl_memory_desc_init_by_tag(&dblk, 4, dd, dnnl_f32, blk == 16 ? dnnl_aBcd16b : dnnl_aBcd8b));
  dnnl_memory_desc_t splain, dplain; dnnl_memory_desc_init_by_tag(&splain, 4, sd, dnnl_f32, dnnl_abcd); dnnl_memory_desc_init_by_tag(&dplain, 4, dd, dnnl_f32, dnnl_abcd);
  double total = 0;
  for (int i = 0; i < 3; i++) {
    dnnl_primitive_t prim; CHK(dnnl_primitive_create(&prim, pds[i]));
    dnnl_primitive_desc_query(pds[i], dnnl_query_impl_info_str, 0, &impl);
    const dnnl_memory_desc_t *s_ = dnnl_primitive_desc_query_md(pds[i], i == 1 ? dnnl_query_diff_src_md : dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *w_ = dnnl_primitive_desc_query_md(pds[i], i == 2 ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *d_ = dnnl_primitive_desc_query_md(pds[i], i == 0 ? dnnl_query_dst_md : dnnl_query_diff_dst_md, 0);
    dnnl_memory_t ms = mk(s_), mw = mk(w_), md = mk(d_);
    dnnl_exec_arg_t args[3] = {{i == 1 ? DNNL_ARG_DIFF_SRC : DNNL_ARG_SRC, ms}, {i == 2 ? DNNL_ARG_DIFF_WEIGHTS : DNNL_ARG_WEIGHTS, mw}, {i == 0 ? DNNL_ARG_DST : DNNL_ARG_DIFF_DST, md}};
    double t = timeit(prim, 3, args, reps); total += t;
    printf("  %-6s %-28s %7.2f ms  src %s dst %s\n", names[i], impl, t, fmt(s_), fmt(d_));
  }
  const dnnl_memory_desc_t *fs = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0), *fd = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
  printf("  total %.2f ms; reorders: src blk->chosen %.2f, plain->chosen %.2f; dst chosen->blk %.2f, chosen->plain %.2f\n", total,
         reorder_ms(&sblk, fs, reps), reorder_ms(&splain, fs, reps), reorder_ms(fd, &dblk, reps), reorder_ms(fd, &dplain, reps));
  return 0;
}
