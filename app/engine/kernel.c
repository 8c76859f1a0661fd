/*
 * The LSTM layer in one call: every member, window and time step of `app.engine.layers.LSTM`
 * with Keras' default activations (tanh, sigmoid), for `app.engine.compiled`; with a
 * Dense(1) head after it, the members' mean output too (`Network.mean`).
 *
 * Why C: the NumPy engine spends a step in about ten array calls of a microsecond each,
 * whatever their size, so one window costs about 50 us for 2 us of arithmetic. Here a
 * window is one pass over the weights, held in cache, with the gate block kept in
 * registers and up to eight windows sharing each weight load.
 *
 * Plain C with no Python headers (loaded with ctypes), so any C compiler builds it, at
 * install time, and a machine without one serves with the NumPy engine instead. Where
 * GCC can, it builds one copy per x86-64 level (AVX-512, AVX2, baseline) and the loader
 * picks the one the CPU runs (target_clones), so one build serves any x86-64 machine.
 *
 * The NumPy engine is the reference: the Python side checks this kernel against it before
 * using it, and the tests hold both to Keras (parity 1e-4).
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#define KERNEL_ABI 3
#define MAX_UNITS 256
#define MAX_INPUTS 256
#define BLOCK 8 /* most windows sharing each weight load */
#define ROWS 32 /* gate rows accumulated in registers at a time, for a block of windows */
#define ROWS_ALONE 128 /* the same for a window alone: more independent sums to overlap */

/* Windows per block: eight where the CPU has 32 vector registers (AVX-512), as their sums
   then stay in registers; two with AVX2's 16, where eight spill (measured: 512 windows
   3.3 ms in blocks of eight, 2.6 in blocks of two; 1.3 with AVX-512 in blocks of eight). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define WIDE_REGISTERS() __builtin_cpu_supports("avx512f")
#else
#define CLONES
#define WIDE_REGISTERS() 0
#endif

int lstm_kernel_abi(void) { return KERNEL_ABI; }

int lstm_max_units(void) { return MAX_UNITS; }

int lstm_max_inputs(void) { return MAX_INPUTS; }

int lstm_column_block(void) { return ROWS; }

/* tanh in float32 as Eigen computes it: a 13/6 rational function on [-7.9053, 7.9053],
   a few ulp from the true value, and plain arithmetic, so it vectorises. NaN stays NaN. */
static inline float tanh_rational(float x) {
    const float limit = 7.90531110763549805f;
    x = x > limit ? limit : x; /* two plain selects: what AVX2 vectorises too */
    x = x < -limit ? -limit : x;
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return x * p / q;
}

struct shape {
    int steps, members, batch, units, inputs, columns, sequences;
    long x_step, x_member, x_row; /* strides of x in floats; a member stride of 0 broadcasts */
};

/* `n` windows (n <= BLOCK) of member `m`, from row `b0`, all steps, `rows` gate rows at a
   time (n and rows are constants once inlined). The column of a window is [h; x_t; 1], so
   one product gives every gate's pre-activation. With a `head`, the last state goes
   through the member's linear head instead of to `out`, and is added to `sums`. */
static inline __attribute__((always_inline)) void run_windows(
    const float *weights, const float *x, float *out, const float *head, double *sums,
    const struct shape *s, int m, int b0, const int n, const int rows) {
    const int u = s->units, k = s->inputs, columns = s->columns, width = u + k + 1;
    float column[BLOCK][MAX_UNITS + MAX_INPUTS + 1] __attribute__((aligned(64)));
    float z[BLOCK][4 * MAX_UNITS + ROWS_ALONE] __attribute__((aligned(64)));
    float c[BLOCK][MAX_UNITS] __attribute__((aligned(64)));
    for (int w = 0; w < n; w++) {
        memset(column[w], 0, sizeof(float) * u);
        memset(c[w], 0, sizeof(float) * u);
        column[w][width - 1] = 1.0f;
    }
    for (int t = 0; t < s->steps; t++) {
        for (int w = 0; w < n; w++) {
            const float *xt = x + t * s->x_step + m * s->x_member + (b0 + w) * s->x_row;
            memcpy(column[w] + u, xt, sizeof(float) * k);
        }
        for (int r0 = 0; r0 < columns; r0 += rows) {
            float acc[BLOCK][ROWS_ALONE];
            for (int w = 0; w < n; w++)
                for (int r = 0; r < rows; r++) acc[w][r] = 0.0f;
            for (int j = t ? 0 : u; j < width; j++) { /* h = 0 before the first step */
                const float *row = weights + (size_t)j * columns + r0;
                for (int w = 0; w < n; w++) {
                    const float v = column[w][j];
                    for (int r = 0; r < rows; r++) acc[w][r] += row[r] * v;
                }
            }
            for (int w = 0; w < n; w++)
                for (int r = 0; r < rows; r++) z[w][r0 + r] = tanh_rational(acc[w][r]);
        }
        for (int w = 0; w < n; w++) {
            /* Gates (i, f, o) were halved at load: sigmoid(a) = tanh(a / 2) / 2 + 1 / 2. */
            float *zw = z[w], *cw = c[w], *h = column[w];
            for (int j = 0; j < u; j++)
                cw[j] = (0.5f * zw[u + j] + 0.5f) * cw[j] + (0.5f * zw[j] + 0.5f) * zw[3 * u + j];
            for (int j = 0; j < u; j++) h[j] = (0.5f * zw[2 * u + j] + 0.5f) * tanh_rational(cw[j]);
            if (s->sequences)
                memcpy(out + (((size_t)t * s->members + m) * s->batch + b0 + w) * u, h,
                       sizeof(float) * u);
        }
    }
    if (head) {
        /* Dense(1) in float32 as Keras computes it (h . kernel, then + bias); summed over
           members in float64, as the NumPy engine's mean does. */
        const float *hw = head + (size_t)m * (u + 1);
        for (int w = 0; w < n; w++) {
            float y = 0.0f;
            for (int j = 0; j < u; j++) y += column[w][j] * hw[j];
            sums[b0 + w] += (double)(y + hw[u]);
        }
    } else if (!s->sequences)
        for (int w = 0; w < n; w++)
            memcpy(out + ((size_t)m * s->batch + b0 + w) * u, column[w], sizeof(float) * u);
}

/* weights: (members, units + inputs + 1, columns), the gate columns (i, f, o, c) then zeros
   up to `columns`, a multiple of ROWS; the rows [recurrent kernel; kernel; bias]; gates
   i, f, o halved. x: floats at the given strides, (steps, members, batch, inputs).
   Without a head, out: (steps, members, batch, units) with sequences, else (members, batch,
   units). With one, (members, units + 1), each member's Dense(1) kernel then its bias: the
   last state goes through it, and mean (batch,) float64 gets the members' mean output, what
   a one-output ensemble forecasts with, with no (members, batch, units) array between; out
   is not written. One function for both, so both run the same machine code.
   Returns 0, or -1 for sizes beyond the buffers. */
CLONES
int lstm_forward(const float *weights, const float *x, float *out, const float *head,
                 double *mean, int steps, int members, int batch, int units, int inputs,
                 int columns, int sequences, long x_step, long x_member, long x_row) {
    if (units < 1 || units > MAX_UNITS || inputs < 1 || inputs > MAX_INPUTS || columns % ROWS ||
        columns < 4 * units || columns >= 4 * units + ROWS || (head && sequences))
        return -1;
    const struct shape s = {steps, members, batch, units, inputs, columns, sequences,
                            x_step, x_member, x_row};
    const size_t per_member = (size_t)(units + inputs + 1) * columns;
    const int wide = WIDE_REGISTERS();
    if (head)
        for (int b = 0; b < batch; b++) mean[b] = 0.0;
    for (int m = 0; m < members; m++) {
        const float *w = weights + m * per_member;
        int b = 0;
        if (wide)
            for (; b + BLOCK <= batch; b += BLOCK)
                run_windows(w, x, out, head, mean, &s, m, b, BLOCK, ROWS);
        for (; b + 2 <= batch; b += 2) run_windows(w, x, out, head, mean, &s, m, b, 2, ROWS);
        for (; b < batch; b++) {
            if (columns % ROWS_ALONE == 0)
                run_windows(w, x, out, head, mean, &s, m, b, 1, ROWS_ALONE);
            else
                run_windows(w, x, out, head, mean, &s, m, b, 1, ROWS);
        }
    }
    if (head)
        for (int b = 0; b < batch; b++) mean[b] /= members;
    return 0;
}

/* A forecast's recursion in a pipeline's deseasonalised space (`SeasonalPipeline.forecast`),
   every step in one call: what a horizon of h cost in h rounds of a dozen NumPy calls each.
   For each row b < batch of u (float64, `row` values apart) and t = first .. first+steps-1:
     window  u[t-look_back .. t-1], relative to its last value and scaled: the network's input,
             x_j = (float)((u_j - u_{t-1}) * scale[b])
     level   the mean of u[t-points .. t-1] weighted by level[0 .. points-1] (oldest first),
             over its known values (NaN ones left out, the rest renormalised), or by the
             normalised level[points .. 2 points - 1] when all are known; only when
             level_weight is not 0
     u[t]  = u_{t-1} + level_weight * (level - u_{t-1}) + (weight[b] * m - offset) / scale[b],
             m the members' mean output for x (`lstm_forward` with its head)
   in the NumPy path's order of operations. `rows` holds scale (batch), weight (batch), then
   room for the means (batch doubles) and the windows (batch * look_back floats): one array,
   as each address costs its caller a microsecond to take. Returns 0, or -1 for sizes beyond
   the buffers or a window before u's start. */
int lstm_recursion(const float *weights, const float *head, int members, int units,
                   int columns, double *u, long row, int first, int steps, int batch,
                   int look_back, double *rows, double offset, const double *level, int points,
                   double level_weight) {
    if (look_back < 1 || look_back > first || steps < 0 || batch < 0 ||
        (level_weight != 0.0 && (points < 1 || points > first)))
        return -1;
    const double *scale = rows, *weight = rows + batch;
    double *mean = rows + 2 * (size_t)batch;
    float *x = (float *)(rows + 3 * (size_t)batch);
    for (int t = first; t < first + steps; t++) {
        for (int b = 0; b < batch; b++) {
            const double *window = u + b * row + t - look_back, last = window[look_back - 1];
            for (int j = 0; j < look_back; j++)
                x[(size_t)b * look_back + j] = (float)((window[j] - last) * scale[b]);
        }
        if (lstm_forward(weights, x, NULL, head, mean, look_back, members, batch, units, 1,
                         columns, 0, 1, 0, look_back))
            return -1;
        for (int b = 0; b < batch; b++) {
            double *ub = u + b * row;
            const double last = ub[t - 1];
            double anchor = last;
            if (level_weight != 0.0) {
                const double *recent = ub + t - points;
                double weighted = 0.0, total = 0.0, normalised = 0.0;
                int missing = 0;
                for (int k = 0; k < points; k++) {
                    if (isnan(recent[k])) {
                        missing = 1;
                        continue;
                    }
                    weighted += recent[k] * level[k];
                    total += level[k];
                    normalised += recent[k] * level[points + k];
                }
                anchor = last + level_weight * ((missing ? weighted / total : normalised) - last);
            }
            ub[t] = anchor + (weight[b] * mean[b] - offset) / scale[b];
        }
    }
    return 0;
}
