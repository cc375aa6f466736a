//! The project's own `exp`, `ln`, `ln_1p`, `tanh`, and `sin`/`cos`/`tan`,
//! instead of the platform's libm.
//!
//! libm's results are not the same everywhere: glibc picks an FMA or SSE2
//! version of `expf`, `logf` or `sinf` by CPU at load time, and musl, macOS
//! and Windows have their own. Training through them would give a seed
//! different bits on different machines. These use only `+`, `-`, `*`, `/`
//! and integer operations on the bits, each rounded as IEEE 754 defines, in
//! a fixed order, with no fused multiply-add: the same inputs give the same
//! bits on every CPU and with every compiler. Every branch is a select on
//! values already computed, so that the compiler may vectorise a map over
//! a slice.
//!
//! Range reduction and polynomials are Cephes' (Moshier's), in `f32`:
//! error bounds, measured against `f64` over every test sweep, are stated on
//! each function and asserted by the tests below. `sin_cos` and `tan` are in
//! `f64` and serve scalars only (augmentation's angles, learning-rate
//! schedules).

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two: the high part has 9 significant bits, so `n * LN2_HI`
/// is exact for every `n` the range reduction produces (|n| <= 128).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 * 2^23: adding and subtracting it rounds an `f32` of magnitude below
/// 2^22 to the nearest integer (ties to even), with plain additions.
const ROUND_SHIFTER: f32 = 12_582_912.0;

/// Above this, `exp` is `+inf` (`e^88.7228...` is the largest `f32`).
pub const EXP_MAX_INPUT: f32 = 88.722_83;
/// Below this, `exp` returns 0: results under `e^-87` (1.6e-38) would
/// come close to the subnormal range, where flush-to-zero would decide the
/// bits.
pub const EXP_MIN_INPUT: f32 = -87.0;

/// `e^x`, within 1 ulp of the exact value for `x` in
/// [[`EXP_MIN_INPUT`], [`EXP_MAX_INPUT`]]; 0 below, `+inf` above, NaN for
/// NaN.
#[inline]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(EXP_MIN_INPUT, EXP_MAX_INPUT);
    // x = n ln 2 + r, |r| <= ln 2 / 2.
    let n = (xc * LOG2E + ROUND_SHIFTER) - ROUND_SHIFTER;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let er = (p * (r * r) + r) + 1.0;
    // e^r * 2^n by adding n to the exponent field: exact, and e^r's
    // exponent plus n stays within the normal range for clamped inputs.
    let scaled = f32::from_bits((er.to_bits() as i32).wrapping_add((n as i32) << 23) as u32);
    if x.is_nan() {
        x
    } else if x > EXP_MAX_INPUT {
        f32::INFINITY
    } else if x < EXP_MIN_INPUT {
        0.0
    } else {
        scaled
    }
}

/// Natural logarithm, within 1 ulp for positive normal `x`; `-inf` for 0
/// and subnormals (they are flushed in training anyway), NaN for negative
/// `x` and NaN, `+inf` for `+inf`.
#[inline]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits() as i32;
    // x = m 2^e with m in [sqrt(1/2), sqrt(2)).
    let mut e = ((bits >> 23) & 0xff) - 127;
    let mut m = f32::from_bits(((bits & 0x007f_ffff) | 0x3f80_0000) as u32);
    let big = m > std::f32::consts::SQRT_2;
    if big {
        m *= 0.5;
        e += 1;
    }
    let f = m - 1.0;
    let z = f * f;
    let mut p = 7.037_683_6e-2_f32;
    p = p * f - 1.151_461e-1;
    p = p * f + 1.167_699_9e-1;
    p = p * f - 1.242_014_1e-1;
    p = p * f + 1.424_932_3e-1;
    p = p * f - 1.666_805_8e-1;
    p = p * f + 2.000_071_4e-1;
    p = p * f - 2.499_999_4e-1;
    p = p * f + 3.333_333e-1;
    let fe = e as f32;
    let y = ((p * f * z + fe * LN2_LO) - 0.5 * z) + f;
    let result = y + fe * LN2_HI;
    if x.is_nan() || x < 0.0 {
        f32::NAN
    } else if x < f32::MIN_POSITIVE {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else {
        result
    }
}

/// `ln(1 + x)` for `x >= -1`, accurate for small `x` too (within 3 ulp):
/// `ln(u) * x / (u - 1)` with `u = 1 + x` cancels the rounding of `u`
/// (Goldberg's method).
#[inline]
pub fn ln_1p(x: f32) -> f32 {
    let u = 1.0 + x;
    let d = u - 1.0;
    if d == 0.0 || x == f32::INFINITY {
        x
    } else {
        ln(u) * (x / d)
    }
}

/// Hyperbolic tangent, within 2 ulp: an odd polynomial below 0.625 in
/// magnitude, `1 - 2 / (e^2|x| + 1)` above (exactly ±1 from about 9 on).
#[inline]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let big = {
        let t = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
        if x < 0.0 { -t } else { t }
    };
    let z = x * x;
    let mut p = -5.704_988_7e-3_f32;
    p = p * z + 2.063_909e-2;
    p = p * z - 5.373_971_6e-2;
    p = p * z + 1.333_144_2e-1;
    p = p * z - 3.333_328e-1;
    let small = p * z * x + x;
    if a > 0.625 { big } else { small }
}

/// The logistic function `1 / (1 + e^-x)`, within 3 ulp, computed so that
/// neither side overflows: `e^x / (1 + e^x)` for negative `x`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

/// ln 2 in two parts for `f64` (fdlibm's `ln2_hi`, `ln2_lo`): `e * LN2_HI_F64`
/// is exact for every binary exponent `e`.
const LN2_HI_F64: f64 = 6.931_471_803_691_238e-1;
const LN2_LO_F64: f64 = 1.908_214_929_270_587_7e-10;

/// Natural logarithm in `f64`, within 3 ulp for positive normal `x`
/// (`2 atanh((m - 1) / (m + 1))` to the 21st power after taking out the
/// binary exponent); `-inf` for 0 and subnormals, NaN for negative `x` and
/// NaN, `+inf` for `+inf`. For scalars: the initialisers' normal draws.
pub fn ln_f64(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // |z| <= 0.1716, so z^23 / 23 is below 2^-60 of the sum.
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut p = 1.0 / 21.0;
    for k in (1..=9).rev() {
        p = p * z2 + 1.0 / (2 * k + 1) as f64;
    }
    let ln_m = 2.0 * z * (p * z2 + 1.0);
    let fe = e as f64;
    let result = fe * LN2_HI_F64 + (fe * LN2_LO_F64 + ln_m);
    if x.is_nan() || x < 0.0 {
        f64::NAN
    } else if x < f64::MIN_POSITIVE {
        f64::NEG_INFINITY
    } else if x == f64::INFINITY {
        x
    } else {
        result
    }
}

/// pi / 2 in two parts (fdlibm's `pio2_1`, `pio2_1t`): `k * PIO2_HI` is
/// exact for |k| < 2^20.
const PIO2_HI: f64 = 1.570_796_326_734_125_6;
const PIO2_LO: f64 = 6.077_100_506_506_192e-11;

/// `(sin x, cos x)` in `f64`, within a few ulp of `f64` for |x| below
/// 10^5 (Taylor series to the 19th power on |r| <= pi/4 after reducing by
/// multiples of pi/2), so far below `f32`'s resolution. For scalars: a
/// rotation angle, a schedule's phase.
pub fn sin_cos(x: f64) -> (f64, f64) {
    let k = (x * std::f64::consts::FRAC_2_PI).round();
    let r = (x - k * PIO2_HI) - k * PIO2_LO;
    let z = r * r;
    // Horner from the highest term: sin r = r (1 - z/3! (1 - z/(4*5) (...))).
    let mut s = 1.0;
    let mut c = 1.0;
    for i in (1..=9).rev() {
        let n = (2 * i) as f64;
        s = 1.0 - z / (n * (n + 1.0)) * s;
        c = 1.0 - z / ((n - 1.0) * n) * c;
    }
    let (s, c) = (r * s, c);
    match (k as i64).rem_euclid(4) {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// `tan x` in `f64` as `sin x / cos x` (see [`sin_cos`]).
pub fn tan(x: f64) -> f64 {
    let (s, c) = sin_cos(x);
    s / c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place of `f32`, against an `f64` value.
    fn ulps(got: f32, want: f64) -> f64 {
        if got as f64 == want || (got.is_nan() && want.is_nan()) {
            return 0.0;
        }
        let w = want as f32;
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        (got as f64 - want).abs() / ulp
    }

    /// Every 61st `f32` bit pattern between `lo` and `hi` (both signs as
    /// given), so the sweep covers each binade evenly.
    fn sweep(lo: f32, hi: f32) -> impl Iterator<Item = f32> {
        let span = |a: f32, b: f32| {
            let (a, b) = (a.to_bits().min(b.to_bits()), a.to_bits().max(b.to_bits()));
            (a..=b).step_by(61).map(f32::from_bits)
        };
        match (lo < 0.0, hi > 0.0) {
            (true, true) => span(-0.0, lo).chain(span(0.0, hi)).collect::<Vec<_>>().into_iter(),
            _ => span(lo, hi).collect::<Vec<_>>().into_iter(),
        }
    }

    fn worst(xs: impl Iterator<Item = f32>, f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64) -> (f64, f32) {
        xs.map(|x| (ulps(f(x), reference(x as f64)), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    }

    #[test]
    fn exp_is_within_one_ulp() {
        let (err, at) = worst(sweep(EXP_MIN_INPUT, EXP_MAX_INPUT), exp, f64::exp);
        assert!(err <= 1.0, "exp: {err} ulp at {at}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(EXP_MAX_INPUT).is_finite());
    }

    #[test]
    fn ln_is_within_one_ulp() {
        let (err, at) = worst(sweep(f32::MIN_POSITIVE, f32::MAX), ln, f64::ln);
        assert!(err <= 1.0, "ln: {err} ulp at {at}");
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f32::NAN).is_nan());
    }

    #[test]
    fn ln_1p_is_within_three_ulp() {
        let (err, at) = worst(sweep(-0.999, 1e6), ln_1p, f64::ln_1p);
        assert!(err <= 3.0, "ln_1p: {err} ulp at {at}");
        assert_eq!(ln_1p(0.0), 0.0);
        assert_eq!(ln_1p(1e-30), 1e-30);
    }

    #[test]
    fn tanh_is_within_two_ulp() {
        let (err, at) = worst(sweep(-20.0, 20.0), tanh, f64::tanh);
        assert!(err <= 2.0, "tanh: {err} ulp at {at}");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
    }

    #[test]
    fn sigmoid_is_within_three_ulp_and_stable() {
        let reference = |x: f64| 1.0 / (1.0 + (-x).exp());
        let (err, at) = worst(sweep(-80.0, 80.0), sigmoid, reference);
        assert!(err <= 3.0, "sigmoid: {err} ulp at {at}");
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
    }

    #[test]
    fn ln_f64_is_within_three_ulp() {
        let mut worst = 0.0f64;
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..2_000_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Every binade, and (0, 1) densely: the polar method's s.
            let x = if i % 2 == 0 {
                f64::from_bits(state % f64::MAX.to_bits()).max(f64::MIN_POSITIVE)
            } else {
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            if x < f64::MIN_POSITIVE {
                continue;
            }
            let (got, want) = (ln_f64(x), x.ln());
            let ulp = f64::from_bits(want.abs().to_bits() + 1) - want.abs();
            let err = if got == want { 0.0 } else { (got - want).abs() / ulp };
            worst = worst.max(err);
        }
        assert!(worst <= 3.0, "ln_f64: {worst} ulp");
        assert_eq!(ln_f64(1.0), 0.0);
        assert_eq!(ln_f64(0.0), f64::NEG_INFINITY);
        assert!(ln_f64(-1.0).is_nan());
    }

    #[test]
    fn sin_cos_and_tan_match_f64() {
        for i in -20_000..=20_000 {
            let x = i as f64 * 0.000_731;
            let (s, c) = sin_cos(x);
            assert!((s - x.sin()).abs() <= 4.0 * f64::EPSILON, "sin {x}");
            assert!((c - x.cos()).abs() <= 4.0 * f64::EPSILON, "cos {x}");
            if x.cos().abs() > 0.1 {
                assert!(
                    (tan(x) - x.tan()).abs() <= 64.0 * f64::EPSILON * x.tan().abs().max(1.0),
                    "tan {x}"
                );
            }
        }
        assert_eq!(sin_cos(0.0), (0.0, 1.0));
    }
}
