//! `mnist augment-grid`: a PNG of test digits, each beside augmented copies
//! of itself, to see what `--augment` does.

use std::error::Error;
use std::path::{Path, PathBuf};

use clap::Args;
use mnist_io::augment::Augment;
use mnist_io::{IMAGE_PIXELS, IMAGE_SIDE, Mnist, Split, Verify};

#[derive(Args, Debug)]
pub struct GridArgs {
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
    /// The transforms (as for `train --augment`).
    #[arg(long, default_value = "rotate=15,shift=2,scale=0.1,shear=10,elastic=34:4")]
    augment: Augment,
    /// Rows: test digits shown.
    #[arg(long, default_value_t = 8)]
    digits: usize,
    /// Augmented copies beside each digit.
    #[arg(long, default_value_t = 9)]
    variants: usize,
    /// Seed of the transforms.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder holding the MNIST files [default: $MNIST_DATA_DIR, else data/mnist].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Pixels per image pixel, and between cells.
const ZOOM: usize = 3;
const GAP: usize = 4;

pub fn run(args: &GridArgs) -> Result<(), Box<dyn Error + Send + Sync>> {
    let data = Mnist::load(
        &mnist_io::data_dir(args.data_dir.as_deref()),
        Split::Full,
        Verify::Checksums,
    )?;
    let rows = args.digits.clamp(1, data.test.len());
    let cols = args.variants + 1;
    let cell = IMAGE_SIDE * ZOOM + GAP;
    let (width, height) = (cols * cell + GAP, rows * cell + GAP);
    let mut canvas = vec![255u8; width * height];
    let mut pixels = vec![0.0f32; cols * IMAGE_PIXELS];
    let mut labels = Vec::new();
    for r in 0..rows {
        let indices = vec![r; cols];
        data.test.gather(&indices, &mut pixels, &mut labels);
        // Column 0 stays the original.
        args.augment
            .apply(&mut pixels[IMAGE_PIXELS..], args.seed.wrapping_add(r as u64));
        for (c, image) in pixels.chunks_exact(IMAGE_PIXELS).enumerate() {
            draw(&mut canvas, width, GAP + c * cell, GAP + r * cell, image);
        }
    }
    write_png(&args.out, width, height, &canvas)?;
    println!(
        "wrote {} ({rows} digits, each with {} augmented copies)",
        args.out.display(),
        args.variants
    );
    Ok(())
}

/// Draws a 28x28 image (ink 1 = black on white) at (x0, y0), zoomed.
fn draw(canvas: &mut [u8], width: usize, x0: usize, y0: usize, image: &[f32]) {
    for (i, &p) in image.iter().enumerate() {
        let shade = 255 - (p.clamp(0.0, 1.0) * 255.0).round() as u8;
        let (x, y) = (x0 + (i % IMAGE_SIDE) * ZOOM, y0 + (i / IMAGE_SIDE) * ZOOM);
        for dy in 0..ZOOM {
            canvas[(y + dy) * width + x..(y + dy) * width + x + ZOOM].fill(shade);
        }
    }
}

fn write_png(path: &Path, width: usize, height: usize, grey: &[u8]) -> Result<(), Box<dyn Error + Send + Sync>> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(grey)?;
    Ok(())
}
