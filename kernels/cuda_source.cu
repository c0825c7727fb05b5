// minicnn's GPU kernels, compiled by CuPy (NVRTC) once per floating type.
//
// The file is prefixed with the definitions of `real` (float or double), real_exp, real_log,
// real_sqrt, real_erf and NEG_INF for that type. Every kernel is a grid-stride loop over the elements it
// writes, and each element is written by exactly one thread: no atomics, no races, and the
// result does not depend on the launch shape. Arrays are C-contiguous NHWC; indices are int,
// and the host splits a batch whose arrays would overflow them.

__device__ __forceinline__ unsigned int mix32(unsigned int x)
{
    // A bijective integer hash (lowbias32); the CPU kernels compute the same bits.
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

#define GRID_STRIDE_LOOP(t, total) \
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < (total); t += blockDim.x * gridDim.x)

// The (batch, row, column, channel) of flat index t in a C-contiguous (n, h, w, c) array.
struct Pixel { int b, y, x, ch; };

__device__ __forceinline__ Pixel unravel(int t, int h, int w, int c)
{
    Pixel p;
    p.ch = t % c; t /= c;
    p.x = t % w; t /= w;
    p.y = t % h;
    p.b = t / h;
    return p;
}

// cols[b, i, j, p, q, ch] = x[b, i*sh - pad_top + p, j*sw - pad_left + q, ch], 0 outside x.
extern "C" __global__ void im2col(
    const real* __restrict__ x, int n, int h, int w, int c,
    int kh, int kw, int sh, int sw, int pad_top, int pad_left, int out_h, int out_w,
    real* __restrict__ cols)
{
    const int total = n * out_h * out_w * kh * kw * c;
    GRID_STRIDE_LOOP(t, total) {
        int r = t;
        const int ch = r % c; r /= c;
        const int q = r % kw; r /= kw;
        const int p = r % kh; r /= kh;
        const int j = r % out_w; r /= out_w;
        const int i = r % out_h;
        const int b = r / out_h;
        const int hi = i * sh - pad_top + p;
        const int wi = j * sw - pad_left + q;
        const bool inside = hi >= 0 && hi < h && wi >= 0 && wi < w;
        cols[t] = inside ? x[((b * h + hi) * w + wi) * c + ch] : (real)0;
    }
}

// The adjoint of im2col as a gather: each dx pixel sums the window taps that read it.
extern "C" __global__ void col2im(
    const real* __restrict__ dcols, int n, int out_h, int out_w, int kh, int kw, int c,
    int sh, int sw, int pad_top, int pad_left, int h, int w, real* __restrict__ dx)
{
    const int total = n * h * w * c;
    GRID_STRIDE_LOOP(t, total) {
        const Pixel px = unravel(t, h, w, c);
        const int b = px.b, y = px.y, xx = px.x, ch = px.ch;
        real sum = 0;
        for (int p = 0; p < kh; ++p) {
            const int u = y + pad_top - p;
            if (u < 0 || u % sh != 0) continue;
            const int i = u / sh;
            if (i >= out_h) continue;
            for (int q = 0; q < kw; ++q) {
                const int v = xx + pad_left - q;
                if (v < 0 || v % sw != 0) continue;
                const int j = v / sw;
                if (j >= out_w) continue;
                sum += dcols[((((b * out_h + i) * out_w + j) * kh + p) * kw + q) * c + ch];
            }
        }
        dx[t] = sum;
    }
}

// im2col over volumes: cols[b, i, j, k, a, p, q, ch] =
// x[b, i*sd - pf + a, j*sh - pt + p, k*sw - pl + q, ch], 0 outside x.
extern "C" __global__ void im2col3d(
    const real* __restrict__ x, int n, int d, int h, int w, int c,
    int kd, int kh, int kw, int sd, int sh, int sw, int pf, int pt, int pl,
    int out_d, int out_h, int out_w, real* __restrict__ cols)
{
    const int total = n * out_d * out_h * out_w * kd * kh * kw * c;
    GRID_STRIDE_LOOP(t, total) {
        int r = t;
        const int ch = r % c; r /= c;
        const int q = r % kw; r /= kw;
        const int p = r % kh; r /= kh;
        const int a = r % kd; r /= kd;
        const int k = r % out_w; r /= out_w;
        const int j = r % out_h; r /= out_h;
        const int i = r % out_d;
        const int b = r / out_d;
        const int di = i * sd - pf + a;
        const int hi = j * sh - pt + p;
        const int wi = k * sw - pl + q;
        const bool inside = di >= 0 && di < d && hi >= 0 && hi < h && wi >= 0 && wi < w;
        cols[t] = inside ? x[(((b * d + di) * h + hi) * w + wi) * c + ch] : (real)0;
    }
}

// The adjoint of im2col3d as a gather: each dx voxel sums the window taps that read it.
extern "C" __global__ void col2im3d(
    const real* __restrict__ dcols, int n, int out_d, int out_h, int out_w,
    int kd, int kh, int kw, int c, int sd, int sh, int sw, int pf, int pt, int pl,
    int d, int h, int w, real* __restrict__ dx)
{
    const int total = n * d * h * w * c;
    GRID_STRIDE_LOOP(t, total) {
        int r = t;
        const int ch = r % c; r /= c;
        const int xx = r % w; r /= w;
        const int y = r % h; r /= h;
        const int z = r % d;
        const int b = r / d;
        real sum = 0;
        for (int a = 0; a < kd; ++a) {
            const int s = z + pf - a;
            if (s < 0 || s % sd != 0) continue;
            const int i = s / sd;
            if (i >= out_d) continue;
            for (int p = 0; p < kh; ++p) {
                const int u = y + pt - p;
                if (u < 0 || u % sh != 0) continue;
                const int j = u / sh;
                if (j >= out_h) continue;
                for (int q = 0; q < kw; ++q) {
                    const int v = xx + pl - q;
                    if (v < 0 || v % sw != 0) continue;
                    const int k = v / sw;
                    if (k >= out_w) continue;
                    const int window = ((b * out_d + i) * out_h + j) * out_w + k;
                    sum += dcols[(((window * kd + a) * kh + p) * kw + q) * c + ch];
                }
            }
        }
        dx[t] = sum;
    }
}

// Max over each window; pixels outside x count as -inf. argmax holds hi*w + wi of the winner
// (-1 when the window has no pixel of x). The first maximum wins ties; a NaN wins and stays.
extern "C" __global__ void max_pool_forward(
    const real* __restrict__ x, int n, int h, int w, int c,
    int ph, int pw, int sh, int sw, int pad_top, int pad_left, int out_h, int out_w,
    real* __restrict__ out, int* __restrict__ argmax)
{
    const int total = n * out_h * out_w * c;
    GRID_STRIDE_LOOP(t, total) {
        const Pixel px = unravel(t, out_h, out_w, c);
        const int b = px.b, i = px.y, j = px.x, ch = px.ch;
        real best = NEG_INF;
        int where = -1;
        for (int p = 0; p < ph; ++p) {
            const int hi = i * sh - pad_top + p;
            if (hi < 0 || hi >= h) continue;
            for (int q = 0; q < pw; ++q) {
                const int wi = j * sw - pad_left + q;
                if (wi < 0 || wi >= w) continue;
                const real v = x[((b * h + hi) * w + wi) * c + ch];
                if ((where < 0 || v > best || v != v) && best == best) {
                    best = v;
                    where = hi * w + wi;
                }
            }
        }
        out[t] = best;
        argmax[t] = where;
    }
}

// dx[b, y, x, ch] sums the output gradients of the windows whose winner was (y, x): a gather over
// the few windows that cover the pixel, so overlapping windows need no atomics.
extern "C" __global__ void max_pool_backward(
    const real* __restrict__ dout, const int* __restrict__ argmax, int n, int out_h, int out_w,
    int c, int ph, int pw, int sh, int sw, int pad_top, int pad_left, int h, int w,
    real* __restrict__ dx)
{
    const int total = n * h * w * c;
    GRID_STRIDE_LOOP(t, total) {
        const Pixel px = unravel(t, h, w, c);
        const int b = px.b, y = px.y, xx = px.x, ch = px.ch;
        const int me = y * w + xx;
        // Windows i with i*sh - pad_top <= y < i*sh - pad_top + ph, clipped to the output.
        const int top = y + pad_top - ph + 1;
        const int left = xx + pad_left - pw + 1;
        const int i_lo = top <= 0 ? 0 : (top + sh - 1) / sh;
        const int j_lo = left <= 0 ? 0 : (left + sw - 1) / sw;
        const int i_hi = min(out_h - 1, (y + pad_top) / sh);
        const int j_hi = min(out_w - 1, (xx + pad_left) / sw);
        real sum = 0;
        for (int i = i_lo; i <= i_hi; ++i) {
            for (int j = j_lo; j <= j_hi; ++j) {
                const int o = ((b * out_h + i) * out_w + j) * c + ch;
                if (argmax[o] == me) sum += dout[o];
            }
        }
        dx[t] = sum;
    }
}

// out = relu(out + bias) in place on an (m, f) array; NaN stays NaN.
extern "C" __global__ void bias_relu(real* __restrict__ out, const real* __restrict__ bias, int m,
                                     int f)
{
    GRID_STRIDE_LOOP(t, m * f) {
        const real v = out[t] + bias[t % f];
        out[t] = v <= (real)0 ? (real)0 : v;
    }
}

// out = grad where the ReLU's output y was positive, else 0.
extern "C" __global__ void relu_backward(const real* __restrict__ grad, const real* __restrict__ y,
                                         int total, real* __restrict__ out)
{
    GRID_STRIDE_LOOP(t, total) {
        out[t] = y[t] > (real)0 ? grad[t] : (real)0;
    }
}

// The exact GELU (Keras' default): y = x * Phi(x), Phi the standard normal CDF; and its
// gradient, dx = grad * (Phi(x) + x * phi(x)).
extern "C" __global__ void gelu_forward(const real* __restrict__ x, int total,
                                        real* __restrict__ y)
{
    GRID_STRIDE_LOOP(t, total) {
        const real v = x[t];
        y[t] = (real)0.5 * v * ((real)1 + real_erf(v * (real)0.7071067811865476));
    }
}

extern "C" __global__ void gelu_backward(const real* __restrict__ x,
                                         const real* __restrict__ grad, int total,
                                         real* __restrict__ dx)
{
    GRID_STRIDE_LOOP(t, total) {
        const real v = x[t];
        const real cdf = (real)0.5 * ((real)1 + real_erf(v * (real)0.7071067811865476));
        const real pdf = (real)0.3989422804014327 * real_exp((real)-0.5 * v * v);
        dx[t] = grad[t] * (cdf + v * pdf);
    }
}

// The error function, elementwise (ops.erf, and ops.erfinv's Newton steps).
extern "C" __global__ void erf_forward(const real* __restrict__ x, int total,
                                       real* __restrict__ y)
{
    GRID_STRIDE_LOOP(t, total) {
        y[t] = real_erf(x[t]);
    }
}

// The complementary error function (ops.erfc): small far out, where 1 - erf would be 0.
extern "C" __global__ void erfc_forward(const real* __restrict__ x, int total,
                                        real* __restrict__ y)
{
    GRID_STRIDE_LOOP(t, total) {
        y[t] = real_erfc(x[t]);
    }
}

// mask[t] = scale where the hash of (seed, t) passes the threshold, else 0 (inverted dropout).
__device__ __forceinline__ void dropout_mask_body(unsigned int seed, unsigned int threshold,
                                                  real scale, int total, real* mask)
{
    GRID_STRIDE_LOOP(t, total) {
        const unsigned int bits = mix32(mix32((unsigned int)t) ^ seed);
        mask[t] = (bits >> 8) >= threshold ? scale : (real)0;
    }
}

extern "C" __global__ void dropout_mask(unsigned int seed, unsigned int threshold, real scale,
                                        int total, real* __restrict__ mask)
{
    dropout_mask_body(seed, threshold, scale, total, mask);
}

// The same, with the seed read from device memory: a step captured in a CUDA graph replays its
// launches with the arguments they had, so a value that changes every step lives in memory.
extern "C" __global__ void dropout_mask_at(const unsigned int* __restrict__ seed,
                                           unsigned int threshold, real scale, int total,
                                           real* __restrict__ mask)
{
    dropout_mask_body(*seed, threshold, scale, total, mask);
}

// Per row of (n, k) logits: probs = softmax(logits) and row_loss = -log softmax[label].
extern "C" __global__ void softmax_cross_entropy(
    const real* __restrict__ logits, const long long* __restrict__ labels, int n, int k,
    real* __restrict__ probs, real* __restrict__ row_loss)
{
    GRID_STRIDE_LOOP(row, n) {
        const real* z = logits + (long long)row * k;
        real top = z[0];
        for (int j = 1; j < k; ++j) top = z[j] > top ? z[j] : top;
        real total = 0;
        for (int j = 0; j < k; ++j) total += real_exp(z[j] - top);
        const real log_total = real_log(total);
        real* out = probs + (long long)row * k;
        for (int j = 0; j < k; ++j) out[j] = real_exp(z[j] - top - log_total);
        row_loss[row] = log_total - (z[labels[row]] - top);
    }
}

// d = (probs - onehot(labels)) * grad[0] / n: the mean loss's gradient, with the incoming
// gradient read on the device so the host never waits for it.
extern "C" __global__ void softmax_cross_entropy_backward(
    const real* __restrict__ probs, const long long* __restrict__ labels, const real* grad,
    int n, int k, real* __restrict__ d)
{
    const real scale = grad[0] / (real)n;
    GRID_STRIDE_LOOP(t, n * k) {
        const int row = t / k;
        const real hit = (t - row * k) == (int)labels[row] ? (real)1 : (real)0;
        d[t] = (probs[t] - hit) * scale;
    }
}

// One Adam step of Keras' form on a flat parameter: m, v updated in place, then
// value -= alpha * m / (sqrt(v) + epsilon).
__device__ __forceinline__ void adam_update_body(real* value, const real* grad, real* m, real* v,
                                                 int total, real beta_1, real beta_2,
                                                 real epsilon, real alpha)
{
    GRID_STRIDE_LOOP(t, total) {
        const real g = grad[t];
        const real m_t = m[t] * beta_1 + ((real)1 - beta_1) * g;
        const real v_t = v[t] * beta_2 + ((real)1 - beta_2) * (g * g);
        m[t] = m_t;
        v[t] = v_t;
        value[t] -= m_t / (real_sqrt(v_t) + epsilon) * alpha;
    }
}

extern "C" __global__ void adam_update(
    real* __restrict__ value, const real* __restrict__ grad, real* __restrict__ m,
    real* __restrict__ v, int total, real beta_1, real beta_2, real epsilon, real alpha)
{
    adam_update_body(value, grad, m, v, total, beta_1, beta_2, epsilon, alpha);
}

// The same with alpha (which changes every step) read from device memory, for captured steps.
extern "C" __global__ void adam_update_at(
    real* __restrict__ value, const real* __restrict__ grad, real* __restrict__ m,
    real* __restrict__ v, int total, real beta_1, real beta_2, real epsilon,
    const real* __restrict__ alpha)
{
    adam_update_body(value, grad, m, v, total, beta_1, beta_2, epsilon, *alpha);
}

// C = A @ B for the steps captured in CUDA graphs, where CuPy refuses to call cuBLAS. A is
// (m, k) and B is (k, n); `ta`/`tb` say that the array in memory is the transpose, (k, m) or
// (n, k), with leading dimensions lda/ldb. Each thread makes a 4x4 tile of C from one chunk of
// k: with `splits` chunks, partial[s] holds chunk s's sums and the host adds them up (a long k
// and a small C, as in a weight gradient, would otherwise leave most of the GPU idle). Threads
// next to each other take tiles next to each other along n, so their reads of B and writes of C
// are coalesced; every element of the output is written by exactly one thread.
#define GEMM_TILE 4

extern "C" __global__ void gemm(
    const real* __restrict__ a, const real* __restrict__ b, int m, int n, int k, int lda,
    int ldb, int ta, int tb, int splits, int chunk, real* __restrict__ partial)
{
    const int tiles_m = (m + GEMM_TILE - 1) / GEMM_TILE;
    const int tiles_n = (n + GEMM_TILE - 1) / GEMM_TILE;
    GRID_STRIDE_LOOP(t, splits * tiles_m * tiles_n) {
        const int tile_n = t % tiles_n;
        const int tile_m = (t / tiles_n) % tiles_m;
        const int split = t / (tiles_n * tiles_m);
        const int i0 = tile_m * GEMM_TILE, j0 = tile_n * GEMM_TILE;
        const int k0 = split * chunk;
        const int k1 = min(k, k0 + chunk);
        real sum[GEMM_TILE][GEMM_TILE];
        for (int di = 0; di < GEMM_TILE; ++di)
            for (int dj = 0; dj < GEMM_TILE; ++dj) sum[di][dj] = 0;
        for (int kk = k0; kk < k1; ++kk) {
            real av[GEMM_TILE], bv[GEMM_TILE];
            for (int d = 0; d < GEMM_TILE; ++d) {
                const int i = min(i0 + d, m - 1), j = min(j0 + d, n - 1);  // clamped at edges
                av[d] = ta ? a[(long long)kk * lda + i] : a[(long long)i * lda + kk];
                bv[d] = tb ? b[(long long)j * ldb + kk] : b[(long long)kk * ldb + j];
            }
            for (int di = 0; di < GEMM_TILE; ++di)
                for (int dj = 0; dj < GEMM_TILE; ++dj) sum[di][dj] += av[di] * bv[dj];
        }
        real* out = partial + (long long)split * m * n;
        for (int di = 0; di < GEMM_TILE && i0 + di < m; ++di)
            for (int dj = 0; dj < GEMM_TILE && j0 + dj < n; ++dj)
                out[(long long)(i0 + di) * n + j0 + dj] = sum[di][dj];
    }
}
