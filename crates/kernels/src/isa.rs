//! The instruction sets the kernels are written for, and the choice of one
//! for this process: by the CPU, or forced with `MNIST_KERNEL`.
//!
//! Every kernel (GEMM, pooling, the element-wise loops) dispatches on the
//! same [`Isa`], so a process runs one instruction set throughout.

use std::sync::OnceLock;

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

    /// The kernel [`sgemm`](crate::sgemm) and the other kernels use: decided once per process from
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
