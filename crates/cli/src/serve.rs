//! `mnist serve`: a page where a person draws a digit and sees what the
//! network thinks, as the drawing goes.
//!
//! `GET /` is the page (serve_page.html). `POST /predict` takes the
//! drawing as JSON, `{"width": W, "height": H, "pixels": [W*H grey
//! values 0-255, row by row]}`, makes it an MNIST image with the code of
//! `mnist predict --image` (crop, scale into 20x20, centre by mass), and
//! answers `{"digit": D, "probabilities": [10], "image": [784]}`, the
//! image being the 28x28 the network saw. Anything else gets a 4xx with
//! `{"error": "..."}` and the server goes on.

use std::error::Error;
use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use image::{DynamicImage, GrayImage};
use serde::Deserialize;
use tiny_http::{Header, Method, Request, Response, Server};

use store::Model;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// The largest request body read, in bytes: a 280x280 drawing is about 300 kB of JSON.
pub const MAX_BODY: usize = 1 << 20;
/// The largest drawing side, in pixels.
pub const MAX_SIDE: u32 = 1024;

const PAGE: &str = include_str!("serve_page.html");

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The model file (written by `mnist train --save`) [default: the robust
    /// recipe's, models/robust.safetensors, made by `mnist train --recipe
    /// robust --save models/robust.safetensors`].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Address to listen on; the default takes connections from this
    /// machine only.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

/// The model `serve` uses when none is given: the robust recipe's.
pub const DEFAULT_MODEL: &str = "models/robust.safetensors";

/// A drawing sent by the page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Drawing {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// A request that cannot be answered, with its status.
struct Refusal(u16, String);

/// Serves until killed, answering one request at a time.
pub fn run(args: &ServeArgs) -> Result<()> {
    let path = args.model.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL));
    if args.model.is_none() && !path.exists() {
        return Err(format!(
            "no --model given, and the default model {DEFAULT_MODEL} is not there yet: make it with \
             `mnist train --recipe robust --save {DEFAULT_MODEL}` (the model trained to read photos and \
             drawings; about 10 minutes on two cores), or give --model FILE"
        )
        .into());
    }
    let mut model = Model::load(&path)?;
    let input = model.classifier.model.input_shape();
    if input.len() != mnist_io::IMAGE_PIXELS {
        return Err(format!(
            "{}: the model takes {:?}, not a 28x28 image",
            path.display(),
            input.dims()
        )
        .into());
    }
    let server = Server::http((args.host.as_str(), args.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let address = server
        .server_addr()
        .to_ip()
        .ok_or("the server listens on no IP address")?;
    // The first line of standard output: tests (and scripts) read the port here.
    println!("Serving {} on http://{address}/ (Ctrl-C to stop)", path.display());
    for request in server.incoming_requests() {
        let answer = respond(&mut model, request);
        if let Err(e) = answer {
            eprintln!("could not answer: {e}");
        }
    }
    Ok(())
}

fn json_header() -> Header {
    Header::from_bytes("Content-Type", "application/json").expect("a valid header")
}

fn respond(model: &mut Model, mut request: Request) -> std::io::Result<()> {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let result = match (request.method(), path.as_str()) {
        (Method::Get, "/") => {
            let html = Header::from_bytes("Content-Type", "text/html; charset=utf-8").expect("a valid header");
            return request.respond(Response::from_string(PAGE).with_header(html));
        }
        (Method::Post, "/predict") => read_body(&mut request).and_then(|body| predict(model, &body)),
        (_, "/") => Err(Refusal(405, "/ takes GET".into())),
        (_, "/predict") => Err(Refusal(405, "/predict takes POST with a JSON drawing".into())),
        _ => Err(Refusal(404, format!("no page at {path}"))),
    };
    let (status, body) = match result {
        Ok(body) => (200, body),
        Err(Refusal(status, message)) => (status, serde_json::json!({ "error": message }).to_string()),
    };
    let mut response = Response::from_string(body)
        .with_status_code(status)
        .with_header(json_header());
    if status == 405 {
        let allow = if path == "/" { "GET" } else { "POST" };
        response.add_header(Header::from_bytes("Allow", allow).expect("a valid header"));
    }
    request.respond(response)
}

fn read_body(request: &mut Request) -> std::result::Result<Vec<u8>, Refusal> {
    let too_big = || Refusal(413, format!("the body is larger than {MAX_BODY} bytes"));
    if request.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Refusal(400, format!("could not read the body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(too_big());
    }
    Ok(body)
}

fn predict(model: &mut Model, body: &[u8]) -> std::result::Result<String, Refusal> {
    let drawing: Drawing = serde_json::from_slice(body).map_err(|e| {
        Refusal(
            400,
            format!("expected JSON {{\"width\": W, \"height\": H, \"pixels\": [W*H values 0-255]}}: {e}"),
        )
    })?;
    let (w, h) = (drawing.width, drawing.height);
    if !(1..=MAX_SIDE).contains(&w) || !(1..=MAX_SIDE).contains(&h) {
        return Err(Refusal(
            400,
            format!("a drawing of {w}x{h}: each side must be 1 to {MAX_SIDE}"),
        ));
    }
    if drawing.pixels.len() != (w * h) as usize {
        return Err(Refusal(
            400,
            format!(
                "{} pixels for a {w}x{h} drawing, expected {}",
                drawing.pixels.len(),
                w * h
            ),
        ));
    }
    let picture = DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, drawing.pixels).expect("the size was checked"));
    let image = mnist_io::digit::to_mnist(&picture).map_err(|e| Refusal(422, e.to_string()))?;
    let probabilities = model.classify(&image).map_err(|e| Refusal(500, e.to_string()))?;
    let digit = store::most_likely(&probabilities);
    Ok(serde_json::json!({ "digit": digit, "probabilities": probabilities, "image": image }).to_string())
}
