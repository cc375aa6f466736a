//! TensorBoard event files, written without TensorFlow: the `Event` and
//! `Summary` protobuf messages a scalar needs, encoded by hand (there are
//! four fields), framed as TFRecords with masked CRC-32C checksums.
//!
//! A record is `length: u64 LE`, `masked_crc(length bytes): u32 LE`,
//! `data`, `masked_crc(data): u32 LE`; the file starts with an event whose
//! `file_version` is `brain.Event:2`, and each scalar is an event with
//! `wall_time`, `step` and a summary value `{tag, simple_value}`, as
//! TensorBoard's own writer (and PyTorch's) make them.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// TFRecord's checksum: CRC-32C, rotated and offset so that a CRC of data
/// that holds CRCs is not trivially related to them.
pub fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord around `data`.
pub fn record(data: &[u8], out: &mut Vec<u8>) {
    let length = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// An `Event` with the header fields: `wall_time` (1, double) and `step`
/// (2, int64), then `rest` (already encoded fields).
fn event(wall_time: f64, step: i64, rest: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(16 + rest.len());
    varint(1 << 3 | 1, &mut e);
    e.extend_from_slice(&wall_time.to_le_bytes());
    if step != 0 {
        varint(2 << 3, &mut e);
        varint(step as u64, &mut e);
    }
    e.extend_from_slice(rest);
    e
}

/// The first event of a file: `file_version` (3) = `brain.Event:2`.
pub fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut rest = Vec::new();
    bytes_field(3, b"brain.Event:2", &mut rest);
    event(wall_time, 0, &rest)
}

/// An event holding one scalar: `summary` (5) with one `value` (1) of
/// `tag` (1) and `simple_value` (2, float).
pub fn scalar_event(wall_time: f64, step: i64, tag: &str, value: f32) -> Vec<u8> {
    let mut v = Vec::new();
    bytes_field(1, tag.as_bytes(), &mut v);
    varint(2 << 3 | 5, &mut v);
    v.extend_from_slice(&value.to_le_bytes());
    let mut summary = Vec::new();
    bytes_field(1, &v, &mut summary);
    let mut rest = Vec::new();
    bytes_field(5, &summary, &mut rest);
    event(wall_time, step, &rest)
}

/// Seconds since the Unix epoch, as TensorBoard stamps events.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Writes scalars into `events.out.tfevents.<time>.<host>` in a folder
/// (TensorBoard's `--logdir` shows each folder as a run).
pub struct EventWriter {
    file: BufWriter<File>,
    path: PathBuf,
    buffer: Vec<u8>,
}

impl EventWriter {
    /// Creates the folder and a new event file in it.
    pub fn create(dir: &Path) -> io::Result<Self> {
        let at = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(at)?;
        let wall_time = now();
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let path = dir.join(format!(
            "events.out.tfevents.{}.{host}.{}",
            wall_time as u64,
            std::process::id()
        ));
        let file = File::create(&path).map_err(at)?;
        let mut writer = Self {
            file: BufWriter::new(file),
            path,
            buffer: Vec::new(),
        };
        writer.write_event(&file_version_event(wall_time))?;
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one scalar at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32) -> io::Result<()> {
        self.write_event(&scalar_event(now(), step, tag, value))
    }

    fn write_event(&mut self, event: &[u8]) -> io::Result<()> {
        self.buffer.clear();
        record(event, &mut self.buffer);
        self.file.write_all(&self.buffer)
    }

    /// Pushes what is buffered to the file, so TensorBoard sees it while
    /// training goes on.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32C's check value, and TFRecord's mask of it.
    #[test]
    fn crc_is_castagnoli_and_masked() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        // ((crc >> 15) | (crc << 17)) + 0xa282ead8, worked out by hand.
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
    }

    #[test]
    fn a_scalar_event_encodes_as_protobuf_does() {
        // Event{wall_time: 1.5, step: 300, summary{value{tag: "loss", simple_value: 0.25}}}
        let e = scalar_event(1.5, 300, "loss", 0.25);
        let mut expected = vec![0x09];
        expected.extend_from_slice(&1.5f64.to_le_bytes());
        expected.extend_from_slice(&[0x10, 0xac, 0x02]); // step 300 as a varint
        expected.extend_from_slice(&[0x2a, 0x0d, 0x0a, 0x0b, 0x0a, 0x04]);
        expected.extend_from_slice(b"loss");
        expected.push(0x15);
        expected.extend_from_slice(&0.25f32.to_le_bytes());
        assert_eq!(e, expected);
    }

    #[test]
    fn a_record_frames_its_data() {
        let mut out = Vec::new();
        record(b"abc", &mut out);
        assert_eq!(out.len(), 8 + 4 + 3 + 4);
        assert_eq!(&out[..8], &3u64.to_le_bytes());
        assert_eq!(&out[8..12], &masked_crc(&3u64.to_le_bytes()).to_le_bytes());
        assert_eq!(&out[12..15], b"abc");
        assert_eq!(&out[15..], &masked_crc(b"abc").to_le_bytes());
    }
}
