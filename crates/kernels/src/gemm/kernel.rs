//! The micro-kernel contract, and the choice of kernel for this CPU.

use std::sync::OnceLock;

use super::pack::Operand;

/// A register-blocked micro-kernel: multiplies a `MR x kc` block of A by a
/// `kc x NR` block of B and writes the `MR x NR` tile
/// `C = alpha * AB + beta * C`.
///
/// A is read through strides, element `(i, p)` at `a[i * rs_a + p * cs_a]`,
/// so the kernel takes a packed micro-panel (`rs_a = 1`, `cs_a = MR`) or A
/// where it lies, row-major (`lda`, 1) or transposed (1, `lda`), only ever
/// broadcasting single elements. B's rows are `NR` contiguous floats,
/// `rs_b` apart: a packed micro-panel (`rs_b = NR`) or B itself when it is
/// row-major (`rs_b = ldb`).
pub trait MicroKernel {
    /// Rows of the C tile.
    const MR: usize;
    /// Columns of the C tile.
    const NR: usize;

    /// Computes one full tile.
    ///
    /// # Safety
    /// Every element `(i, p)` of A for `i < MR`, `p < kc` and every
    /// `b[p * rs_b + j]` for `j < NR` is readable; `c` is valid for `MR`
    /// rows of `NR` floats spaced `ldc` apart (read only when `beta != 0`);
    /// the CPU has the kernel's instruction set.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        kc: usize,
        a: *const f32,
        rs_a: usize,
        cs_a: usize,
        b: *const f32,
        rs_b: usize,
        c: *mut f32,
        ldc: usize,
        alpha: f32,
        beta: f32,
    );

    /// Computes an edge tile, `mr x nr` with `mr <= MR` and `nr <= NR`,
    /// straight into C. Each element must be summed exactly as
    /// [`tile`](Self::tile) sums it, so that results do not depend on where
    /// a tile falls. By default, a full tile into a scratch tile of which
    /// only the valid part is written back.
    ///
    /// # Safety
    /// As [`tile`](Self::tile), with C valid for `mr` rows of `nr` floats
    /// (A's MR rows stay readable: a partial panel is a padded copy; B is
    /// readable for all `NR` columns, as edge panels are packed with zero
    /// padding).
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_edge(
        kc: usize,
        a: *const f32,
        rs_a: usize,
        cs_a: usize,
        b: *const f32,
        rs_b: usize,
        c: *mut f32,
        ldc: usize,
        mr: usize,
        nr: usize,
        alpha: f32,
        beta: f32,
    ) {
        const { assert!(Self::MR * Self::NR <= SCRATCH) };
        let mut scratch = Scratch([0.0; SCRATCH]);
        // SAFETY: as the caller's contract, with the scratch tile (NR
        // apart) as C and beta = 0; then the valid part of the tile is
        // inside C.
        unsafe {
            Self::tile(kc, a, rs_a, cs_a, b, rs_b, scratch.0.as_mut_ptr(), Self::NR, 1.0, 0.0);
            write_back(&scratch.0, Self::NR, c, ldc, mr, nr, alpha, beta);
        }
    }

    /// Packs a `depth x cols` block of B (at most NR columns) as
    /// [`pack_b`](super::pack::pack_b) does. A kernel may do it faster with
    /// its own instructions.
    fn pack_b(b: &Operand, row0: usize, depth: usize, col0: usize, cols: usize, dst: &mut [f32]) {
        super::pack::pack_b(b, row0, depth, col0, cols, Self::NR, dst);
    }
}

/// `C = alpha * tile + beta * C` on the valid `mr x nr` part.
///
/// # Safety
/// `c` is valid for `mr` rows of `nr` floats, `ldc` apart.
#[allow(clippy::too_many_arguments)]
unsafe fn write_back(
    tile: &[f32],
    ld_tile: usize,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
    alpha: f32,
    beta: f32,
) {
    for r in 0..mr {
        // SAFETY: row r of the tile is inside C (the caller's contract).
        let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), nr) };
        let ab = &tile[r * ld_tile..r * ld_tile + nr];
        row.iter_mut()
            .zip(ab)
            .for_each(|(c, &ab)| *c = epilogue(*c, beta, alpha * ab));
    }
}

/// The new value of an element of C from its old value `c` and `v = alpha
/// AB`, exactly as the SIMD kernels' full tiles write it: `v` when beta = 0
/// (C not read), else one fused `c * beta + v`. With beta = 1 (every depth
/// block after the first) the plain sum is the same bits and needs no FMA
/// instruction, which code compiled for baseline x86-64 does not have.
#[inline(always)]
pub(super) fn epilogue(c: f32, beta: f32, v: f32) -> f32 {
    if beta == 0.0 {
        v
    } else if beta == 1.0 {
        c + v
    } else {
        c.mul_add(beta, v)
    }
}

/// Room for the largest kernel's tile.
const SCRATCH: usize = 16 * 32;

#[repr(C, align(64))]
struct Scratch([f32; SCRATCH]);

/// An instruction set with a micro-kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain Rust arrays and `f32::mul_add`; runs on any CPU.
    Portable,
    /// AVX2 and FMA (x86-64, 2013 on).
    Avx2,
    /// AVX-512F (x86-64 servers, Zen 4 on).
    Avx512,
}

/// Name of the environment variable that forces a kernel.
pub const KERNEL_ENV: &str = "MNIST_KERNEL";

/// Asking for a kernel that cannot run here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// The value is not a kernel's name.
    #[error("{KERNEL_ENV}={0:?} is not a kernel: use portable, avx2 or avx512")]
    Unknown(String),
    /// The CPU lacks the instruction set.
    #[error("{KERNEL_ENV}={0}: this CPU does not support {0}")]
    Unsupported(&'static str),
}

impl Isa {
    /// Every kernel, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// The name used by `MNIST_KERNEL`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// For tests that compare kernels: whether this CPU runs the kernel;
    /// when it does not, prints why the comparison is skipped. When
    /// `MNIST_REQUIRE_KERNELS` is set (CI sets it), a kernel the CPU should
    /// have is never skipped silently: the kernel is skipped only when the
    /// operating system's own account of the CPU (the flags in
    /// `/proc/cpuinfo`, read apart from the detection that chose the
    /// kernels) agrees that the CPU lacks it, so an AVX2-only CPU runs CI
    /// without AVX-512, and a detection that missed a feature fails.
    ///
    /// # Panics
    /// As said, when `MNIST_REQUIRE_KERNELS` is set, the kernel does not
    /// run, and the CPU's flags list its instructions or cannot be read.
    pub fn supported_or_skip(self) -> bool {
        if self.is_supported() {
            return true;
        }
        assert!(
            std::env::var_os("MNIST_REQUIRE_KERNELS").is_none() || self.listed_in_cpuinfo() == Some(false),
            "MNIST_REQUIRE_KERNELS is set but the {} kernel does not run here, although /proc/cpuinfo lists its instructions (or cannot be read)",
            self.name()
        );
        eprintln!("skipped: this CPU cannot run the {} kernel", self.name());
        false
    }

    /// Whether Linux's `/proc/cpuinfo` lists the instructions this kernel
    /// needs among the first CPU's flags; `None` where it cannot be read.
    fn listed_in_cpuinfo(self) -> Option<bool> {
        let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        let line = text.lines().find(|l| l.starts_with("flags"))?;
        let flags: Vec<&str> = line.split(':').nth(1)?.split_whitespace().collect();
        let has = |flag: &str| flags.contains(&flag);
        Some(match self {
            Isa::Portable => true,
            Isa::Avx2 => has("avx2") && has("fma"),
            Isa::Avx512 => has("avx512f"),
        })
    }

    /// The fastest kernel this CPU supports.
    pub fn detect() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|isa| isa.is_supported())
            .unwrap_or(Isa::Portable)
    }

    /// Parses a kernel's name and checks that this CPU supports it.
    pub fn from_name(name: &str) -> Result<Isa, KernelError> {
        let isa = Isa::ALL
            .into_iter()
            .find(|isa| isa.name() == name.trim().to_ascii_lowercase())
            .ok_or_else(|| KernelError::Unknown(name.into()))?;
        if isa.is_supported() {
            Ok(isa)
        } else {
            Err(KernelError::Unsupported(isa.name()))
        }
    }

    /// The kernel `MNIST_KERNEL` asks for, or the fastest one when it is unset.
    pub fn from_env() -> Result<Isa, KernelError> {
        match std::env::var(KERNEL_ENV) {
            Ok(name) if !name.trim().is_empty() => Isa::from_name(&name),
            _ => Ok(Isa::detect()),
        }
    }

    /// The kernel [`sgemm`](super::sgemm) uses: decided once per process from
    /// `MNIST_KERNEL` or the CPU. Programs should call [`Isa::from_env`] at
    /// start-up to report a bad `MNIST_KERNEL` as an error.
    ///
    /// # Panics
    /// When `MNIST_KERNEL` names a kernel that cannot run here.
    pub fn selected() -> Isa {
        static SELECTED: OnceLock<Result<Isa, KernelError>> = OnceLock::new();
        match SELECTED.get_or_init(Isa::from_env) {
            Ok(isa) => *isa,
            Err(e) => panic!("{e}"),
        }
    }
}
