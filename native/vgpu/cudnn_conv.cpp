// The convolution algorithms of the virtual GPU's cuDNN (see cudnn_conv.h for the layouts).
//
// Implemented, per direction (the rest answer CUDNN_STATUS_NOT_SUPPORTED):
//   forward   IMPLICIT_GEMM  direct loops, no workspace, deterministic
//             GEMM           im2col of one image into the workspace, then a GEMM, deterministic
//   bwd data  ALGO_0         direct loops, partial sums over chunks of the output channels K
//                            (host scratch, no workspace) added in an order rotated by a call
//                            counter: NON-deterministic (as cuDNN documents ALGO_0), correct to rounding
//             ALGO_1         GEMM of the filter and dy into the workspace, then col2im, deterministic
//   bwd filter ALGO_0        partial sums over chunks of the (image, output row) reduction in the
//                            workspace, added in a rotated order: NON-deterministic
//             ALGO_1         direct loops, no workspace, deterministic
//             ALGO_3         im2col + GEMM per image, deterministic
// Every sum runs in float, one rounding per multiply and per add (built with -ffp-contract=off).
// The deterministic algorithms of a direction add the same terms in the same order (the GEMMs
// add the padding's zeros too), so they agree bit for bit up to the sign of zero: whichever one
// find ranks first, a run's results do not depend on the timing.
#include "cudnn_conv.h"
#include "vgpu_math.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace jgan_cudnn {
namespace {

int64_t xi(const Geometry& g, int n, int c, int h, int w) { return ((int64_t(n) * g.c + c) * g.h + h) * g.w + w; }
int64_t wi(const Geometry& g, int k, int c, int r, int s) { return ((int64_t(k) * g.c + c) * g.r + r) * g.s + s; }
int64_t yi(const Geometry& g, int n, int k, int p, int q) { return ((int64_t(n) * g.k + k) * g.p + p) * g.q + q; }

int64_t crs(const Geometry& g) { return int64_t(g.c) * g.r * g.s; }
int64_t pq(const Geometry& g) { return int64_t(g.p) * g.q; }

// For filter column s: the output columns q0 <= q < q1 whose input column
// iw = q stride - pad + s dil = q stride + offset lies inside x (the others meet zero padding).
struct Span {
    int q0, q1, offset;
};
Span columns(const Geometry& g, int s) {
    const int offset = s * g.dil_w - g.pad_w, limit = g.w - offset; // iw < W  <=>  q stride < limit
    const int q0 = offset >= 0 ? 0 : (-offset + g.stride_w - 1) / g.stride_w;
    const int q1 = limit <= 0 ? 0 : std::min(g.q, (limit + g.stride_w - 1) / g.stride_w);
    return {q0, std::max(q0, q1), offset};
}

using jgan_vgpu::axpy;  // vgpu_math.h: acc[i] += x[i] * a, one multiply and one add each

// The filter with its taps reversed in both spatial dimensions (CUDNN_CONVOLUTION's kernel).
std::vector<float> flipped(const Geometry& g, const float* w) {
    std::vector<float> f(g.w_size());
    for (int k = 0; k < g.k; k++)
        for (int c = 0; c < g.c; c++)
            for (int r = 0; r < g.r; r++)
                for (int s = 0; s < g.s; s++) f[wi(g, k, c, r, s)] = w[wi(g, k, c, g.r - 1 - r, g.s - 1 - s)];
    return f;
}

// col[(c R + r) S + s][p Q + q] = x[n][c][p stride - pad + r dil][q stride - pad + s dil], 0 outside.
void im2col(const Geometry& g, const float* x, int n, float* col) {
    for (int c = 0; c < g.c; c++)
        for (int r = 0; r < g.r; r++)
            for (int s = 0; s < g.s; s++) {
                float* row = col + ((int64_t(c) * g.r + r) * g.s + s) * pq(g);
                for (int p = 0; p < g.p; p++) {
                    int ih = p * g.stride_h - g.pad_h + r * g.dil_h;
                    for (int q = 0; q < g.q; q++) {
                        int iw = q * g.stride_w - g.pad_w + s * g.dil_w;
                        row[int64_t(p) * g.q + q] = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? x[xi(g, n, c, ih, iw)] : 0.0f;
                    }
                }
            }
}

// ---- forward: y[n][k][p][q] = sum over (c, r, s) of x[n][c][ih][iw] w[k][c][r][s] -------------

void forward_direct(const Geometry& g, const float* x, const float* w, float* y) {
    std::vector<float> acc(pq(g));
    for (int n = 0; n < g.n; n++)
        for (int k = 0; k < g.k; k++) {
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int c = 0; c < g.c; c++)
                for (int r = 0; r < g.r; r++)
                    for (int s = 0; s < g.s; s++) {
                        const float wv = w[wi(g, k, c, r, s)];
                        const Span cols = columns(g, s);
                        for (int p = 0; p < g.p; p++) {
                            int ih = p * g.stride_h - g.pad_h + r * g.dil_h;
                            if (ih < 0 || ih >= g.h) continue;
                            const float* xrow = x + xi(g, n, c, ih, 0) + cols.offset;
                            float* arow = acc.data() + int64_t(p) * g.q;
                            if (g.stride_w == 1) axpy(arow + cols.q0, xrow + cols.q0, wv, cols.q1 - cols.q0);
                            else
                                for (int q = cols.q0; q < cols.q1; q++) arow[q] += xrow[int64_t(q) * g.stride_w] * wv;
                        }
                    }
            std::copy(acc.begin(), acc.end(), y + yi(g, n, k, 0, 0));
        }
}

void forward_gemm(const Geometry& g, const float* x, const float* w, float* col, float* y) {
    const int64_t rows = crs(g), cols = pq(g);
    for (int n = 0; n < g.n; n++) {
        im2col(g, x, n, col);
        for (int k = 0; k < g.k; k++) {
            float* acc = y + yi(g, n, k, 0, 0);
            std::fill(acc, acc + cols, 0.0f);
            for (int64_t j = 0; j < rows; j++) { // (c, r, s) in order, as the direct loops
                float wv = w[int64_t(k) * rows + j];
                const float* crow = col + j * cols;
                axpy(acc, crow, wv, cols);
            }
        }
    }
}

// ---- backward data: dx[n][c][ih][iw] = sum over (k, r, s) with ih = p stride - pad + r dil ----

// Adds the contributions of output channels [k0, k1) of image n into acc (C x H x W): per dx
// element the terms come in (k, r, s) order, each (k, r, s) giving at most one term.
void backward_data_range(const Geometry& g, const float* w, const float* dy, int n, int k0, int k1, float* acc) {
    for (int c = 0; c < g.c; c++) {
        float* plane = acc + int64_t(c) * g.h * g.w;
        for (int k = k0; k < k1; k++)
            for (int r = 0; r < g.r; r++)
                for (int s = 0; s < g.s; s++) {
                    const float wv = w[wi(g, k, c, r, s)];
                    const Span cols = columns(g, s);
                    for (int p = 0; p < g.p; p++) {
                        int ih = p * g.stride_h - g.pad_h + r * g.dil_h;
                        if (ih < 0 || ih >= g.h) continue;
                        const float* dyrow = dy + yi(g, n, k, p, 0);
                        float* prow = plane + int64_t(ih) * g.w + cols.offset;
                        if (g.stride_w == 1) axpy(prow + cols.q0, dyrow + cols.q0, wv, cols.q1 - cols.q0);
                        else
                            for (int q = cols.q0; q < cols.q1; q++) prow[int64_t(q) * g.stride_w] += dyrow[q] * wv;
                    }
                }
    }
}

// col[(c R + r) S + s][p Q + q] = sum over k of w[k][c][r][s] dy[n][k][p][q] (k in order), then
// col2im: each dx element adds its col entries in (c, r, s) order.
void backward_data_gemm(const Geometry& g, const float* w, const float* dy, float* col, float* dx) {
    const int64_t rows = crs(g), cols = pq(g), image = int64_t(g.c) * g.h * g.w;
    std::fill(dx, dx + g.x_size(), 0.0f);
    for (int n = 0; n < g.n; n++) {
        std::fill(col, col + rows * cols, 0.0f);
        for (int64_t j = 0; j < rows; j++)
            for (int k = 0; k < g.k; k++) axpy(col + j * cols, dy + yi(g, n, k, 0, 0), w[int64_t(k) * rows + j], cols);
        float* out = dx + n * image;
        for (int c = 0; c < g.c; c++)
            for (int r = 0; r < g.r; r++)
                for (int s = 0; s < g.s; s++) {
                    const float* crow = col + ((int64_t(c) * g.r + r) * g.s + s) * cols;
                    const Span span = columns(g, s);
                    for (int p = 0; p < g.p; p++) {
                        int ih = p * g.stride_h - g.pad_h + r * g.dil_h;
                        if (ih < 0 || ih >= g.h) continue;
                        float* prow = out + (int64_t(c) * g.h + ih) * g.w + span.offset;
                        for (int q = span.q0; q < span.q1; q++) prow[int64_t(q) * g.stride_w] += crow[int64_t(p) * g.q + q];
                    }
                }
    }
}

int data_chunks(const Geometry& g) { return std::min(g.k, 4); }

// Partial sums over chunks of the output channels (host scratch, no workspace), added into dx in
// an order rotated by the call counter.
void backward_data_chunked(const Geometry& g, const float* w, const float* dy, float* dx, uint64_t call) {
    const int chunks = data_chunks(g);
    const int64_t image = int64_t(g.c) * g.h * g.w;
    const int first = int(call % uint64_t(chunks));
    std::vector<float> partials(chunks * image);
    for (int n = 0; n < g.n; n++) {
        std::fill(partials.begin(), partials.end(), 0.0f);
        for (int j = 0; j < chunks; j++)
            backward_data_range(g, w, dy, n, int(int64_t(g.k) * j / chunks), int(int64_t(g.k) * (j + 1) / chunks),
                                partials.data() + j * image);
        float* out = dx + n * image;
        std::copy(partials.data() + first * image, partials.data() + (first + 1) * image, out);
        for (int t = 1; t < chunks; t++) {
            const float* part = partials.data() + ((first + t) % chunks) * image;
            for (int64_t i = 0; i < image; i++) out[i] += part[i];
        }
    }
}

// ---- backward filter: dw[k][c][r][s] = sum over (n, p, q) of dy[n][k][p][q] x[n][c][ih][iw] ----

// Adds the terms of the reduction rows [row0, row1) (row = n P + p) into acc (K x C x R x S).
void backward_filter_rows(const Geometry& g, const float* x, const float* dy, int64_t row0, int64_t row1, float* acc) {
    for (int k = 0; k < g.k; k++)
        for (int c = 0; c < g.c; c++)
            for (int r = 0; r < g.r; r++)
                for (int s = 0; s < g.s; s++) {
                    const Span cols = columns(g, s);
                    float sum = acc[wi(g, k, c, r, s)];
                    for (int64_t row = row0; row < row1; row++) {
                        int n = int(row / g.p), p = int(row % g.p);
                        int ih = p * g.stride_h - g.pad_h + r * g.dil_h;
                        if (ih < 0 || ih >= g.h) continue;
                        const float* dyrow = dy + yi(g, n, k, p, 0);
                        const float* xrow = x + xi(g, n, c, ih, 0) + cols.offset;
                        for (int q = cols.q0; q < cols.q1; q++) sum += dyrow[q] * xrow[int64_t(q) * g.stride_w];
                    }
                    acc[wi(g, k, c, r, s)] = sum;
                }
}

void backward_filter_direct(const Geometry& g, const float* x, const float* dy, float* dw) {
    std::fill(dw, dw + g.w_size(), 0.0f);
    backward_filter_rows(g, x, dy, 0, int64_t(g.n) * g.p, dw);
}

int filter_chunks(const Geometry& g) { return int(std::min<int64_t>(int64_t(g.n) * g.p, 4)); }

void backward_filter_chunked(const Geometry& g, const float* x, const float* dy, float* partials, float* dw, uint64_t call) {
    const int chunks = filter_chunks(g);
    const int64_t size = g.w_size(), rows = int64_t(g.n) * g.p;
    const int first = int(call % uint64_t(chunks));
    std::fill(partials, partials + chunks * size, 0.0f);
    for (int j = 0; j < chunks; j++) backward_filter_rows(g, x, dy, rows * j / chunks, rows * (j + 1) / chunks, partials + j * size);
    std::copy(partials + first * size, partials + (first + 1) * size, dw);
    for (int t = 1; t < chunks; t++) {
        const float* part = partials + ((first + t) % chunks) * size;
        for (int64_t i = 0; i < size; i++) dw[i] += part[i];
    }
}

// The im2col matrix transposed, one row per output position: colT[p Q + q][(c R + r) S + s].
void im2col_transposed(const Geometry& g, const float* x, int n, float* colT) {
    const int64_t rows = crs(g);
    for (int c = 0; c < g.c; c++)
        for (int r = 0; r < g.r; r++)
            for (int s = 0; s < g.s; s++) {
                const int64_t j = (int64_t(c) * g.r + r) * g.s + s;
                for (int p = 0; p < g.p; p++) {
                    int ih = p * g.stride_h - g.pad_h + r * g.dil_h;
                    for (int q = 0; q < g.q; q++) {
                        int iw = q * g.stride_w - g.pad_w + s * g.dil_w;
                        colT[(int64_t(p) * g.q + q) * rows + j] =
                            ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? x[xi(g, n, c, ih, iw)] : 0.0f;
                    }
                }
            }
}

// dw[k][j] += dy[n][k][pq] colT[pq][j], over (n, p, q) in order: the inner loop runs along j
// (contiguous), each dw element keeping its own sum in the reduction's natural order.
void backward_filter_gemm(const Geometry& g, const float* x, const float* dy, float* colT, float* dw) {
    const int64_t rows = crs(g), cols = pq(g);
    std::fill(dw, dw + g.w_size(), 0.0f);
    for (int n = 0; n < g.n; n++) {
        im2col_transposed(g, x, n, colT);
        for (int k = 0; k < g.k; k++) {
            const float* dyk = dy + yi(g, n, k, 0, 0);
            float* dwk = dw + int64_t(k) * rows;
            for (int64_t i = 0; i < cols; i++) {
                const float d = dyk[i];
                const float* crow = colT + i * rows;
                axpy(dwk, crow, d, rows);
            }
        }
    }
}

} // namespace

int algo_count(Direction d) {
    switch (d) {
        case Direction::forward: return FWD_ALGO_COUNT;
        case Direction::backward_data: return BWD_DATA_ALGO_COUNT;
        default: return BWD_FILTER_ALGO_COUNT;
    }
}

AlgoInfo algo_info(Direction d, int algo, const Geometry& g) {
    const uint64_t col = 4 * uint64_t(crs(g)) * uint64_t(pq(g));
    switch (d) {
        case Direction::forward:
            if (algo == FWD_IMPLICIT_GEMM) return {true, true, 0};
            if (algo == FWD_GEMM) return {true, true, col};
            break;
        case Direction::backward_data:
            if (algo == BWD_DATA_ALGO_0) return {true, false, 0};
            if (algo == BWD_DATA_ALGO_1) return {true, true, col};
            break;
        case Direction::backward_filter:
            if (algo == BWD_FILTER_ALGO_0) return {true, false, 4 * uint64_t(filter_chunks(g)) * uint64_t(g.w_size())};
            if (algo == BWD_FILTER_ALGO_1) return {true, true, 0};
            if (algo == BWD_FILTER_ALGO_3) return {true, true, col};
            break;
    }
    return {false, true, 0};
}

void run(Direction d, int algo, const Geometry& g, const float* in0, const float* in1, float* workspace, float* out,
         uint64_t call) {
    if (d == Direction::backward_filter) {
        // the gradient of the taps as applied; CONVOLUTION stores them reversed
        std::vector<float> taps;
        float* dw = out;
        if (g.flip) {
            taps.resize(g.w_size());
            dw = taps.data();
        }
        if (algo == BWD_FILTER_ALGO_0) backward_filter_chunked(g, in0, in1, workspace, dw, call);
        else if (algo == BWD_FILTER_ALGO_1) backward_filter_direct(g, in0, in1, dw);
        else backward_filter_gemm(g, in0, in1, workspace, dw);
        if (g.flip) {
            std::vector<float> back = flipped(g, dw);
            std::copy(back.begin(), back.end(), out);
        }
        return;
    }
    // forward and backward data read the filter (in0 for forward is x, in1 w; backward data in0 w, in1 dy)
    const float* w = d == Direction::forward ? in1 : in0;
    std::vector<float> wf;
    if (g.flip) {
        wf = flipped(g, w);
        w = wf.data();
    }
    if (d == Direction::forward) {
        if (algo == FWD_IMPLICIT_GEMM) forward_direct(g, in0, w, out);
        else forward_gemm(g, in0, w, workspace, out);
    } else {
        if (algo == BWD_DATA_ALGO_0) backward_data_chunked(g, w, in1, out, call);
        else backward_data_gemm(g, w, in1, workspace, out);
    }
}

}  // namespace jgan_cudnn
