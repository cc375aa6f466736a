//! The IDX format: a big-endian header (two zero bytes, an element type, the
//! number of dimensions, then each dimension as a u32) followed by the
//! elements. Files may be gzip-compressed; that is detected from the content.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{DataError, Result};

/// The IDX element type of unsigned bytes, the only one MNIST uses.
pub const TYPE_U8: u8 = 0x08;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of unsigned bytes: its dimensions and its elements, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Elements, row-major.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// The magic number of this array's header (e.g. 2051 for a 3-d u8 array).
    pub fn magic(&self) -> u32 {
        magic_for(self.dims.len() as u8)
    }
}

/// The magic number of a u8 IDX file with `ndims` dimensions.
pub const fn magic_for(ndims: u8) -> u32 {
    ((TYPE_U8 as u32) << 8) | ndims as u32
}

/// True when `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads a whole file and, when its content is gzip, decompresses it.
/// `path` is only used in error messages.
pub fn read_content(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.is_empty() {
        return Err(DataError::Empty { path: path.into() });
    }
    decompress_if_gzip(path, raw)
}

/// Decompresses `raw` when it is gzip (detected by its first bytes), or
/// returns it unchanged.
pub fn decompress_if_gzip(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if !is_gzip(&raw) {
        return Ok(raw);
    }
    // The gzip trailer holds the uncompressed size modulo 2^32: a good
    // capacity hint that saves the reallocations of a growing Vec. It is
    // only a hint (a corrupt file may lie), so it is capped.
    let hint = raw
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes(raw[at..].try_into().expect("4 bytes")) as usize)
        .unwrap_or(0)
        .min(raw.len().saturating_mul(64));
    let mut out = Vec::with_capacity(hint);
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| DataError::Gzip {
            path: path.into(),
            reason: e.to_string(),
        })?;
    Ok(out)
}

/// Reads the big-endian u32 at `offset`, or says the file is truncated there.
pub(crate) fn be_u32(path: &Path, bytes: &[u8], offset: usize, what: &str) -> Result<u32> {
    match bytes.get(offset..offset + 4) {
        Some(b) => Ok(u32::from_be_bytes(b.try_into().expect("4 bytes"))),
        None => Err(DataError::Truncated {
            path: path.into(),
            what: what.to_string(),
            expected: offset as u64 + 4,
            found: bytes.len() as u64,
        }),
    }
}

/// Parses uncompressed IDX content of unsigned bytes, checking the header
/// and that the file length is exactly what the header announces.
pub fn parse(path: &Path, mut bytes: Vec<u8>) -> Result<IdxArray> {
    let magic = be_u32(path, &bytes, 0, "the IDX magic number")?;
    let (zeros, element_type, ndims) = (magic >> 16, (magic >> 8) as u8, magic as u8);
    if zeros != 0 {
        return Err(DataError::BadHeader {
            path: path.into(),
            offset: 0,
            reason: format!(
                "the first two bytes must be zero, found {zeros:#06x} (magic {magic:#010x}): not an IDX file"
            ),
        });
    }
    if element_type != TYPE_U8 {
        return Err(DataError::BadHeader {
            path: path.into(),
            offset: 2,
            reason: format!(
                "element type {element_type:#04x} is not supported, expected {TYPE_U8:#04x} (unsigned byte)"
            ),
        });
    }
    if ndims == 0 {
        return Err(DataError::BadHeader {
            path: path.into(),
            offset: 3,
            reason: "zero dimensions, expected at least 1".into(),
        });
    }
    let mut dims = Vec::with_capacity(ndims as usize);
    let mut elements: u64 = 1;
    for d in 0..ndims as usize {
        let offset = 4 + 4 * d;
        let size = be_u32(path, &bytes, offset, &format!("the size of dimension {d}"))?;
        elements = elements.checked_mul(size as u64).ok_or_else(|| DataError::BadHeader {
            path: path.into(),
            offset: offset as u64,
            reason: "the dimensions' product overflows".into(),
        })?;
        dims.push(size as usize);
    }
    let header = 4 + 4 * ndims as u64;
    let expected = header + elements;
    let found = bytes.len() as u64;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.into(),
            what: format!("an IDX array of shape {dims:?}"),
            expected,
            found,
        });
    }
    if found > expected {
        return Err(DataError::TrailingData {
            path: path.into(),
            expected,
            found,
        });
    }
    bytes.drain(..header as usize);
    Ok(IdxArray { dims, data: bytes })
}

/// Reads an IDX file, raw or gzip-compressed.
pub fn read(path: &Path) -> Result<IdxArray> {
    parse(path, read_content(path)?)
}

/// Encodes an array of unsigned bytes as uncompressed IDX content.
///
/// # Panics
/// If `data.len()` is not the product of `dims`, or a dimension exceeds
/// `u32::MAX`, or there are more than 255 dimensions: programming errors.
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    assert!(!dims.is_empty() && dims.len() <= 255, "IDX needs 1 to 255 dimensions");
    assert_eq!(dims.iter().product::<usize>(), data.len(), "data does not match dims");
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&magic_for(dims.len() as u8).to_be_bytes());
    for &d in dims {
        let d = u32::try_from(d).expect("IDX dimensions are u32");
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Writes an IDX file, gzip-compressed when `gzip` is true.
pub fn write(path: &Path, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    let content = encode(dims, data);
    let bytes = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&content).map_err(|e| DataError::io(path, e))?;
        enc.finish().map_err(|e| DataError::io(path, e))?
    } else {
        content
    };
    std::fs::write(path, bytes).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse_round_trips() {
        let data: Vec<u8> = (0..24).collect();
        let bytes = encode(&[2, 3, 4], &data);
        assert_eq!(&bytes[..4], &2051u32.to_be_bytes());
        let arr = parse(Path::new("x"), bytes).unwrap();
        assert_eq!(arr.dims, vec![2, 3, 4]);
        assert_eq!(arr.data, data);
        assert_eq!(arr.magic(), 2051);
    }

    #[test]
    fn header_errors_name_the_offset() {
        let p = Path::new("f.idx");
        let mut bad_type = encode(&[2], &[1, 2]);
        bad_type[2] = 0x0d;
        let e = parse(p, bad_type).unwrap_err().to_string();
        assert!(
            e.contains("f.idx") && e.contains("offset 2") && e.contains("0x0d"),
            "{e}"
        );

        let e = parse(p, vec![0, 0, 8, 3, 0, 0]).unwrap_err().to_string();
        assert!(e.contains("truncated at byte 6") && e.contains("dimension 0"), "{e}");

        let mut extra = encode(&[2], &[1, 2]);
        extra.push(9);
        let e = parse(p, extra).unwrap_err().to_string();
        assert!(e.contains("trailing data from offset 10"), "{e}");
    }
}
