//! `cargo xtask fetch-data` against mirrors served on 127.0.0.1 by the test:
//! a mirror that answers 404, one that serves corrupted files, and a good one.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// The real MNIST files, or `None` (with the reason printed) when they are
/// absent and `MNIST_REQUIRE_DATA` is unset.
fn real_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        return Some(dir);
    }
    assert!(
        std::env::var_os("MNIST_REQUIRE_DATA").is_none(),
        "MNIST_REQUIRE_DATA is set but {} lacks the .gz files",
        dir.display()
    );
    eprintln!("skipped: no MNIST in {} (run `cargo xtask fetch-data`)", dir.display());
    None
}

/// Serves `/good/NAME` with the real bytes, `/corrupt/NAME` with every
/// 1000th byte flipped, and 404 for anything else. Returns the base URL.
/// The thread stops after `max_requests` requests.
fn serve(data: PathBuf, max_requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max_requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (mirror, name) = path.trim_start_matches('/').split_once('/').unwrap_or(("", ""));
            let body = match (mirror, FILES.contains(&name)) {
                ("good", true) => std::fs::read(data.join(name)).ok(),
                ("corrupt", true) => std::fs::read(data.join(name)).ok().map(|mut b| {
                    b.iter_mut().step_by(1000).skip(1).for_each(|x| *x ^= 0x5a);
                    b
                }),
                _ => None,
            };
            let (status, body) = match body {
                Some(b) => ("200 OK", b),
                None => ("404 Not Found", b"not here".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
        }
    });
    base
}

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

#[test]
fn skips_missing_and_corrupt_mirrors_and_keeps_the_real_files() {
    let Some(data) = real_data() else { return };
    let base = serve(data.clone(), 12);
    let out = tempfile::tempdir().unwrap();
    let result = xtask(&[
        "fetch-data",
        "--dir",
        out.path().to_str().unwrap(),
        "--mirror",
        &format!("{base}/missing/"),
        "--mirror",
        &format!("{base}/corrupt/"),
        "--mirror",
        &format!("{base}/good/"),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    for name in FILES {
        assert_eq!(
            std::fs::read(out.path().join(name)).unwrap(),
            std::fs::read(data.join(name)).unwrap()
        );
        assert!(
            stderr.contains(&format!("skipping {base}/missing/{name}: ")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("skipping {base}/corrupt/{name}: ")),
            "{stderr}"
        );
    }
    // The corrupted gzip is rejected either by gzip's own CRC or by SHA-256.
    assert!(
        stderr.contains("corrupt gzip") || stderr.contains("not the real MNIST"),
        "{stderr}"
    );
    assert!(stderr.contains("404"), "{stderr}");
}

#[test]
fn fails_clearly_when_no_mirror_serves_the_real_file() {
    let Some(data) = real_data() else { return };
    let base = serve(data, 2);
    let out = tempfile::tempdir().unwrap();
    let result = xtask(&[
        "fetch-data",
        "--dir",
        out.path().to_str().unwrap(),
        "--mirror",
        &format!("{base}/corrupt/"),
        "--mirror",
        &format!("{base}/missing/"),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(stderr.contains("no mirror served the real file"), "{stderr}");
    assert!(
        !out.path().join(FILES[0]).exists(),
        "nothing may be stored under the real name"
    );
}

#[test]
fn copies_from_a_folder_and_rejects_a_wrong_one() {
    let Some(data) = real_data() else { return };
    let out = tempfile::tempdir().unwrap();
    let ok = xtask(&[
        "fetch-data",
        "--from",
        data.to_str().unwrap(),
        "--dir",
        out.path().to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(FILES.iter().all(|f| out.path().join(f).is_file()));

    // A folder where the training labels are the test labels: wrong checksum.
    let fake = tempfile::tempdir().unwrap();
    for f in FILES {
        std::fs::copy(data.join(f), fake.path().join(f)).unwrap();
    }
    std::fs::copy(data.join(FILES[3]), fake.path().join(FILES[1])).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let bad = xtask(&[
        "fetch-data",
        "--from",
        fake.path().to_str().unwrap(),
        "--dir",
        dest.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        stderr.contains("not the real MNIST file train-labels-idx1-ubyte"),
        "{stderr}"
    );
}
