//! `mnist serve`: bad requests get a 4xx and the server goes on; and in a
//! real browser (Debian's headless Chromium driven through ChromeDriver's
//! WebDriver protocol) digits drawn with the mouse on the page are
//! recognised, with ten probabilities and the 28x28 preview shown.
//!
//! The browser test needs chromium, chromedriver and `data/mnist`; it skips
//! with a reason without them, unless MNIST_REQUIRE_BROWSER is set (CI
//! installs chromium and sets it), where it fails instead.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

/// Children killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// One HTTP/1.1 request on its own connection: (status, body).
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading all of a big body and close.
    let _ = stream.write_all(body);
    // Read the head, then as many bytes as it announces: ChromeDriver
    // keeps the connection open whatever the request says.
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {head:?}"));
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None => {
            let _ = reader.read_to_end(&mut body);
        }
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Starts `mnist serve` on a free port; returns it with the port.
fn serve(model: &Path) -> (Killed, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(["serve", "--port", "0", "--model"])
        .arg(model)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    (Killed(child), port)
}

/// An untrained model of the right shape, from fake data (no real MNIST needed).
fn untrained_model(dir: &Path) -> PathBuf {
    let n = 5_100;
    let pixels: Vec<u8> = (0..n * 784).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    for (name, bytes) in [
        ("train-images-idx3-ubyte", mnist_io::idx::encode(&[n, 28, 28], &pixels)),
        ("train-labels-idx1-ubyte", mnist_io::idx::encode(&[n], &labels)),
        ("t10k-images-idx3-ubyte", mnist_io::idx::encode(&[n, 28, 28], &pixels)),
        ("t10k-labels-idx1-ubyte", mnist_io::idx::encode(&[n], &labels)),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let model = dir.join("untrained.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(["train", "--no-verify", "--epochs", "0", "--quiet", "--data-dir"])
        .arg(dir)
        .arg("--save")
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    model
}

/// A drawing as the page sends it: a 100x100 white sheet with a black bar.
fn drawing() -> Value {
    let mut pixels = vec![255u8; 100 * 100];
    for y in 20..80 {
        for x in 45..55 {
            pixels[y * 100 + x] = 0;
        }
    }
    json!({"width": 100, "height": 100, "pixels": pixels})
}

/// Without --model, serve takes the robust recipe's model; when it is not
/// there, the error says the one command that makes it.
#[test]
fn without_a_model_serve_says_how_to_make_the_default_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .arg("serve")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("mnist train --recipe robust --save models/robust.safetensors"),
        "{stderr}"
    );
}

#[test]
fn bad_requests_get_a_4xx_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(&untrained_model(dir.path()));
    let good = drawing().to_string();

    let (status, page) = http(port, "GET", "/", b"");
    assert_eq!(status, 200);
    assert!(page.contains("<canvas id=\"pad\""));

    let big = vec![b' '; 2 << 20];
    let flat = json!({"width": 3, "height": 3, "pixels": vec![7; 9]}).to_string();
    let short = json!({"width": 3, "height": 3, "pixels": vec![7; 8]}).to_string();
    let huge = json!({"width": 5000, "height": 1, "pixels": []}).to_string();
    let over = r#"{"width": 1, "height": 1, "pixels": [256]}"#;
    let cases: [(&str, &str, &[u8], u16, &str); 9] = [
        ("GET", "/predict", b"", 405, "POST"),
        ("DELETE", "/", b"", 405, "GET"),
        ("GET", "/elsewhere", b"", 404, "/elsewhere"),
        ("POST", "/predict", b"not json", 400, "expected JSON"),
        (
            "POST",
            "/predict",
            short.as_bytes(),
            400,
            "8 pixels for a 3x3 drawing, expected 9",
        ),
        ("POST", "/predict", huge.as_bytes(), 400, "1 to 1024"),
        ("POST", "/predict", over.as_bytes(), 400, "expected JSON"),
        ("POST", "/predict", flat.as_bytes(), 422, "no digit"),
        ("POST", "/predict", &big, 413, "larger than"),
    ];
    for (method, path, body, expected, message) in cases {
        let (status, text) = http(port, method, path, body);
        assert_eq!(status, expected, "{method} {path}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(
            error["error"].as_str().unwrap().contains(message),
            "{method} {path}: {text}"
        );
        // Still serving.
        let (status, text) = http(port, "POST", "/predict", good.as_bytes());
        assert_eq!(status, 200, "after {method} {path}: {text}");
    }
    let (_, text) = http(port, "POST", "/predict", good.as_bytes());
    let answer: Value = serde_json::from_str(&text).unwrap();
    let probabilities: Vec<f64> = serde_json::from_value(answer["probabilities"].clone()).unwrap();
    assert_eq!(probabilities.len(), 10);
    assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    assert_eq!(answer["image"].as_array().unwrap().len(), 784);
}

/// Chromium and ChromeDriver, or why the browser test cannot run.
fn browser() -> Result<(), String> {
    for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !Path::new(program).exists() {
            return Err(format!(
                "{program} is missing (apt-get install chromium chromium-driver)"
            ));
        }
    }
    Ok(())
}

/// A WebDriver session on ChromeDriver.
struct Browser {
    port: u16,
    session: String,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_bytes(),
        );
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()["value"].clone()
    }

    fn script(&self, source: &str) -> Value {
        self.call("POST", "/execute/sync", json!({"script": source, "args": []}))
    }

    /// Drags a pointer (`mouse` or `touch`) through `points` (pixels of the
    /// 280x280 pad).
    fn draw(&self, pad: &Value, pointer: &str, points: &[(f64, f64)]) {
        // Offsets are from the element's centre.
        let at = |&(x, y): &(f64, f64)| json!({"type": "pointerMove", "duration": 15, "origin": pad, "x": (x - 140.0) as i64, "y": (y - 140.0) as i64});
        let mut actions = vec![at(&points[0]), json!({"type": "pointerDown", "button": 0})];
        actions.extend(points[1..].iter().map(at));
        actions.push(json!({"type": "pointerUp", "button": 0}));
        self.call(
            "POST",
            "/actions",
            json!({"actions": [{"type": "pointer", "id": pointer, "parameters": {"pointerType": pointer}, "actions": actions}]}),
        );
    }

    /// The digit shown and the ten probabilities, once the page has them
    /// for the drawing as it now is.
    fn answer(&self) -> (String, Vec<f64>) {
        let started = Instant::now();
        loop {
            let shown = self.script(
                "return [document.getElementById('digit').textContent, \
                 Array.from(document.querySelectorAll('.probability')).map(e => e.textContent), \
                 busy || pending];",
            );
            let digit = shown[0].as_str().unwrap().to_string();
            let values: Vec<f64> = shown[1]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_str().unwrap().parse().ok())
                .collect();
            if !digit.is_empty() && values.len() == 10 && shown[2] == json!(false) {
                return (digit, values);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no answer on the page: {shown}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Points along a polyline, every few pixels.
fn stroke(corners: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut points = vec![corners[0]];
    for pair in corners.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let steps = ((x1 - x0).hypot(y1 - y0) / 12.0).ceil().max(1.0) as usize;
        points.extend((1..=steps).map(|i| {
            let t = i as f64 / steps as f64;
            (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
        }));
    }
    points
}

#[test]
fn digits_drawn_in_a_real_browser_are_recognised() {
    let Some(()) = common::prerequisite("MNIST_REQUIRE_BROWSER", browser()) else {
        return;
    };
    let Some(data) = common::real_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args([
            "train",
            "--hidden",
            "256",
            "--init",
            "he",
            "--optimizer",
            "adam",
            "--lr",
            "0.001",
        ])
        .args(["--epochs", "3", "--quiet", "--data-dir"])
        .arg(&data)
        .arg("--save")
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_server, port) = serve(&model);

    let driver_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _driver = Killed(
        Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let profile = dir.path().join("profile");
    // The flags keep Chromium off the network this machine does not have.
    let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=900,650",
                 format!("--user-data-dir={}", profile.display())]
    }}}});
    let (status, text) = http(driver_port, "POST", "/session", capabilities.to_string().as_bytes());
    assert_eq!(status, 200, "no browser session: {text}");
    let session = serde_json::from_str::<Value>(&text).unwrap()["value"]["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let browser = Browser {
        port: driver_port,
        session,
    };
    // A phone's viewport (390 x 844 CSS pixels, as an iPhone 12's): the pad
    // fits on the screen and is drawn on by touch.
    browser.call("POST", "/window/rect", json!({"width": 390, "height": 844}));
    browser.call("POST", "/url", json!({"url": format!("http://127.0.0.1:{port}/")}));
    let fits = browser.script(
        "const r = document.getElementById('pad').getBoundingClientRect(); \
         return [window.innerWidth, r.left, r.right, r.width, r.height];",
    );
    let [inner, left, right, width, height] = [0, 1, 2, 3, 4].map(|i| fits[i].as_f64().unwrap());
    assert!(inner <= 400.0, "the window is not phone-sized: {fits}");
    assert!(left >= 0.0 && right <= inner, "the pad does not fit the screen: {fits}");
    assert!(
        (width - height).abs() < 1.0 && width >= 200.0,
        "the pad is not a square that can be drawn on: {fits}"
    );
    let pad = browser.call("POST", "/element", json!({"using": "css selector", "value": "#pad"}));
    let clear = browser.call("POST", "/element", json!({"using": "css selector", "value": "#clear"}));
    let undo = browser.call("POST", "/element", json!({"using": "css selector", "value": "#undo"}));
    let preview_ink = || {
        browser
            .script(
                "const d = document.getElementById('seen').getContext('2d').getImageData(0, 0, 28, 28).data; \
                 let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s;",
            )
            .as_f64()
            .unwrap()
    };

    // A one, a seven, a nine and a zero, drawn as a person would, large and
    // off centre, with the mouse or a finger.
    let ring = |cx: f64, cy: f64, rx: f64, ry: f64, from: f64| -> Vec<(f64, f64)> {
        (0..=36)
            .map(|i| {
                let a = from + i as f64 * std::f64::consts::TAU / 36.0;
                (cx + rx * a.sin(), cy - ry * a.cos())
            })
            .collect()
    };
    let mut nine = ring(140.0, 90.0, 45.0, 45.0, std::f64::consts::FRAC_PI_2);
    nine.extend(stroke(&[(185.0, 90.0), (175.0, 250.0)]));
    let digits: [Drawn; 4] = [
        ("1", "mouse", stroke(&[(150.0, 40.0), (140.0, 240.0)])),
        ("7", "touch", stroke(&[(70.0, 50.0), (200.0, 50.0), (120.0, 250.0)])),
        ("9", "touch", nine),
        ("0", "mouse", ring(130.0, 145.0, 60.0, 95.0, 0.0)),
    ];
    let mut shots = Vec::new();
    for (expected, pointer, points) in &digits {
        browser.call("POST", &format!("/element/{}/click", element_id(&clear)), json!({}));
        browser.draw(&pad, pointer, points);
        let (digit, probabilities) = browser.answer();
        let sum: f64 = probabilities.iter().sum();
        eprintln!("drew a {expected} by {pointer}: the page says {digit}, probabilities {probabilities:?}");
        assert!((sum - 1.0).abs() < 0.01, "the ten probabilities add up to {sum}");
        assert_eq!(&digit, expected, "drew a {expected}, the page says {digit}");
        // The preview shows the image the network saw: some ink in it.
        let ink = preview_ink();
        assert!(ink > 255.0 * 20.0, "the 28x28 preview is empty: {ink}");
        shots.push(browser.call("GET", "/screenshot", json!(null)));

        // A stray stroke, then undo: the page is back to the digit alone.
        browser.draw(&pad, pointer, &stroke(&[(20.0, 265.0), (260.0, 265.0)]));
        browser.answer();
        assert_ne!(preview_ink(), ink, "the stray stroke did not reach the preview");
        browser.call("POST", &format!("/element/{}/click", element_id(&undo)), json!({}));
        let (again, _) = browser.answer();
        assert_eq!(&again, expected, "after undo the page says {again}");
        assert_eq!(preview_ink(), ink, "undo did not give back the digit as it was");
    }
    // Undoing the last stroke empties the page.
    browser.call("POST", &format!("/element/{}/click", element_id(&undo)), json!({}));
    let shown = browser.script("return document.getElementById('digit').textContent;");
    assert_eq!(shown, json!(""), "undoing every stroke left a digit shown");
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    for (shot, (digit, _, _)) in shots.iter().zip(&digits) {
        let path = folder.join(format!("serve-{digit}.png"));
        std::fs::write(&path, base64(shot.as_str().unwrap())).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
    http(driver_port, "DELETE", &format!("/session/{}", browser.session), b"");
}

/// A digit, the pointer that draws it and the points it passes through.
type Drawn = (&'static str, &'static str, Vec<(f64, f64)>);

/// The id of a WebDriver element reference.
fn element_id(element: &Value) -> String {
    element["element-6066-11e4-a52e-4f735466cecf"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Decodes standard base64 (the screenshot).
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .map(value)
        .collect();
    digits
        .chunks(4)
        .flat_map(|q| {
            let n = q
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &d)| n | (d as u32) << (18 - 6 * i));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes.into_iter().take(q.len() - 1)
        })
        .collect()
}
