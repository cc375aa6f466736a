//! The cache sizes of the CPU at hand, read at run time, for blocking
//! choices that must suit every machine rather than one (a block of B sized
//! for a 1 MiB L2 thrashes a 512 KiB one).
//!
//! Linux reports them in sysfs; elsewhere on x86-64 `cpuid` does (leaf 4 on
//! Intel, 0x8000_001D on AMD). When neither answers, the defaults are a
//! small modern core's. `MNIST_CACHE_L2` (bytes, or with a `K` or `M`
//! suffix) overrides the L2 size, to see what another machine's blocking
//! does.
//!
//! Only the blocking of which tiles are computed when depends on these
//! sizes, never the order of any sum, so results are the same bits whatever
//! they are.

use std::sync::OnceLock;

/// Name of the environment variable that overrides the L2 size.
pub const CACHE_L2_ENV: &str = "MNIST_CACHE_L2";

/// Per-core data cache sizes, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSizes {
    /// Level 1 data cache of one core.
    pub l1d: usize,
    /// Level 2 cache of one core (or shared by the few cores of a cluster).
    pub l2: usize,
    /// Where the sizes came from: `"sysfs"`, `"cpuid"`, `"default"`, or
    /// `"MNIST_CACHE_L2"` when the L2 size was overridden.
    pub source: &'static str,
}

impl CacheSizes {
    /// Used when the CPU does not say: 32 KiB L1d and 512 KiB L2 (AMD Zen 2
    /// and 3, many Arm cores; smaller than most recent Intel parts, so a
    /// blocking chosen from it fits everywhere).
    pub const DEFAULT: CacheSizes = CacheSizes {
        l1d: 32 << 10,
        l2: 512 << 10,
        source: "default",
    };

    /// This CPU's sizes, read once per process.
    pub fn get() -> CacheSizes {
        static SIZES: OnceLock<CacheSizes> = OnceLock::new();
        *SIZES.get_or_init(CacheSizes::detect)
    }

    /// Reads the sizes from the environment override, sysfs or cpuid, in
    /// that order, with [`CacheSizes::DEFAULT`] for what none of them gives.
    pub fn detect() -> CacheSizes {
        let mut sizes = from_sysfs().or_else(from_cpuid).unwrap_or(CacheSizes::DEFAULT);
        if let Some(l2) = std::env::var(CACHE_L2_ENV).ok().as_deref().and_then(parse_size) {
            sizes.l2 = l2;
            sizes.source = CACHE_L2_ENV;
        }
        sizes
    }
}

/// `"2048K"`, `"2M"` or `"524288"` in bytes; `None` for anything else or 0.
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 1 << 10),
        (i, 'M' | 'm') => (&text[..i], 1 << 20),
        _ => (text, 1),
    };
    let n: usize = digits.trim().parse().ok()?;
    n.checked_mul(unit).filter(|&b| b > 0)
}

/// From `/sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}`.
fn from_sysfs() -> Option<CacheSizes> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let (mut l1d, mut l2) = (None, None);
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let read = |name: &str| std::fs::read_to_string(entry.path().join(name)).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else {
            continue;
        };
        let size = parse_size(&size);
        match (level.trim(), kind.trim()) {
            ("1", "Data") => l1d = size,
            ("2", "Data" | "Unified") => l2 = size,
            _ => {}
        }
    }
    Some(CacheSizes {
        l1d: l1d.unwrap_or(CacheSizes::DEFAULT.l1d),
        l2: l2?,
        source: "sysfs",
    })
}

/// From cpuid's deterministic cache parameters.
#[cfg(target_arch = "x86_64")]
fn from_cpuid() -> Option<CacheSizes> {
    use std::arch::x86_64::__cpuid_count;
    // Leaf 0 and 0x8000_0000 say which other leaves exist before they are
    // asked for.
    let v = __cpuid_count(0, 0);
    let (vendor, max_leaf, max_ext) = ([v.ebx, v.edx, v.ecx], v.eax, __cpuid_count(0x8000_0000, 0).eax);
    let vendor: Vec<u8> = vendor.iter().flat_map(|r| r.to_le_bytes()).collect();
    let leaf = match &vendor[..] {
        b"GenuineIntel" if max_leaf >= 4 => 4,
        b"AuthenticAMD" | b"HygonGenuine" if max_ext >= 0x8000_001D => 0x8000_001D,
        _ => return None,
    };
    let (mut l1d, mut l2) = (None, None);
    for sub in 0..16 {
        // Subleaves past the last cache report type 0.
        let r = __cpuid_count(leaf, sub);
        let (kind, level) = (r.eax & 0x1f, (r.eax >> 5) & 0x7);
        if kind == 0 {
            break;
        }
        let ways = ((r.ebx >> 22) & 0x3ff) as usize + 1;
        let partitions = ((r.ebx >> 12) & 0x3ff) as usize + 1;
        let line = (r.ebx & 0xfff) as usize + 1;
        let sets = r.ecx as usize + 1;
        let size = Some(ways * partitions * line * sets);
        // Type 1 is data, 3 unified.
        match (level, kind) {
            (1, 1) => l1d = size,
            (2, 1 | 3) => l2 = size,
            _ => {}
        }
    }
    Some(CacheSizes {
        l1d: l1d.unwrap_or(CacheSizes::DEFAULT.l1d),
        l2: l2?,
        source: "cpuid",
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn from_cpuid() -> Option<CacheSizes> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("2048K\n"), Some(2 << 20));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("524288"), Some(512 << 10));
        assert_eq!(parse_size("48 k"), Some(48 << 10));
        for bad in ["", "K", "0", "-1K", "two M", "1G"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    /// Each source that answers gives sizes a real core could have, and
    /// sysfs wins over cpuid when both answer. (The two are not compared:
    /// on a CPU with big and little cores, cpuid describes whichever core
    /// the test runs on and sysfs always cpu0.)
    #[test]
    fn sources_give_plausible_sizes_in_order() {
        let plausible = |s: &CacheSizes| (8 << 10..=1 << 20).contains(&s.l1d) && (64 << 10..=64 << 20).contains(&s.l2);
        for sizes in [from_sysfs(), from_cpuid()].into_iter().flatten() {
            assert!(plausible(&sizes), "{sizes:?}");
        }
        let detected = CacheSizes::detect();
        assert!(plausible(&detected), "{detected:?}");
        if std::env::var_os(CACHE_L2_ENV).is_none() {
            let want = if from_sysfs().is_some() {
                "sysfs"
            } else if from_cpuid().is_some() {
                "cpuid"
            } else {
                "default"
            };
            assert_eq!(detected.source, want);
        }
    }
}
