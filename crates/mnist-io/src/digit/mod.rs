//! A picture of a digit made into an MNIST image, the way MNIST was made:
//! greyscale, light ink on a dark ground (inverted when the picture is
//! dark on light), measured against the paper's shade where it lies (a
//! photo is lit unevenly), specks cleared (`blobs`), stood upright by its
//! moments (`deskew`), cropped to the ink, scaled into 20x20 keeping its
//! proportions, and placed in 28x28 with its centre of mass in the middle.
//! `mnist predict --image` and the drawing page's server use it. Behind
//! the feature `digit`, which brings in the `image` crate.

mod blobs;
mod deskew;

use std::path::Path;

use crate::{IMAGE_PIXELS, IMAGE_SIDE};
use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageBuffer, Luma};

/// What went wrong with a picture.
#[derive(Debug, thiserror::Error)]
pub enum DigitError {
    /// The file cannot be read or is not an image this build decodes.
    #[error("{path}: not a PNG or JPEG image this can read: {reason}")]
    Decode {
        /// The file.
        path: String,
        /// The decoder's words.
        reason: String,
    },
    /// The picture has no ink: one flat shade.
    #[error("no digit in the image: it is one flat shade (nothing darker or lighter than the background)")]
    NoInk,
    /// The picture is larger than [`MAX_PIXELS`]; refused from its header,
    /// before anything is decoded.
    #[error(
        "{path}: a picture of {width}x{height} pixels is too large (at most {max} pixels, e.g. 8000x6000); scale it down first",
        max = MAX_PIXELS
    )]
    TooLarge {
        /// The file.
        path: String,
        /// Its width, from its header.
        width: u32,
        /// Its height, from its header.
        height: u32,
    },
}

/// The largest picture [`open`] decodes: 50 megapixels (a phone's photo
/// is 12 to 48), about 600 MB while it is made into an MNIST image.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The side of the box the digit is scaled into, as in MNIST.
const BOX: u32 = 20;
/// Ink is what differs from the background by more than this share of
/// the picture's contrast (after inversion, in 0..1).
const INK: f32 = 0.25;

/// Reads a PNG or JPEG file: its size from the header first, so that a
/// picture over [`MAX_PIXELS`] is refused before it is decoded.
pub fn open(path: &Path) -> Result<DynamicImage, DigitError> {
    let fail = |reason: String| DigitError::Decode {
        path: path.display().to_string(),
        reason,
    };
    let reader = || -> Result<image::ImageReader<_>, DigitError> {
        image::ImageReader::open(path)
            .map_err(|e| fail(e.to_string()))?
            .with_guessed_format()
            .map_err(|e| fail(e.to_string()))
    };
    let (width, height) = reader()?.into_dimensions().map_err(|e| fail(e.to_string()))?;
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(DigitError::TooLarge {
            path: path.display().to_string(),
            width,
            height,
        });
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    let mut reader = reader()?;
    reader.limits(limits);
    reader.decode().map_err(|e| fail(e.to_string()))
}

/// The steps of [`to_mnist_with`] that can be left out. [`Steps::default`]
/// has those that helped on the non-MNIST test set
/// (`testdata/handwriting`; docs/handwriting.md gives the scores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Steps {
    /// Clear blobs of ink with under a tenth of the largest blob's ink
    /// (specks, dots), keeping the digit.
    pub keep_digit: bool,
    /// Stand the digit upright by its second moments.
    pub deskew: bool,
}

impl Default for Steps {
    fn default() -> Self {
        Steps {
            keep_digit: true,
            deskew: true,
        }
    }
}

/// The 784 bytes (row by row, 0 background, 255 ink) MNIST would have made
/// of `picture`, with the default [`Steps`].
pub fn to_mnist(picture: &DynamicImage) -> Result<Vec<u8>, DigitError> {
    to_mnist_with(picture, Steps::default())
}

/// [`to_mnist`] with the optional steps chosen.
pub fn to_mnist_with(picture: &DynamicImage, steps: Steps) -> Result<Vec<u8>, DigitError> {
    let (width, height) = (picture.width(), picture.height());
    // Transparent pixels are the paper: composite onto white.
    let grey: Vec<f32> = picture
        .to_luma_alpha32f()
        .pixels()
        .map(|p| p[0] * p[1] + (1.0 - p[1]))
        .collect();
    // The border says which way the ink goes; the paper's shade is then
    // taken where each pixel is, as light falls unevenly across a photo.
    let dark_on_light = border_median(&grey, width as usize, height as usize) > 0.5;
    let paper = paper_shade(&grey, width as usize, height as usize, dark_on_light);
    // Ink made bright, the ground dark, stretched to 0..1.
    let ink: Vec<f32> = grey
        .iter()
        .zip(&paper)
        .map(|(&v, &background)| if dark_on_light { background - v } else { v - background })
        .collect();
    let peak = ink.iter().copied().fold(0.0f32, f32::max);
    if peak < 1e-3 {
        return Err(DigitError::NoInk);
    }
    let mut ink: Vec<f32> = ink.iter().map(|&v| (v / peak).clamp(0.0, 1.0)).collect();
    if steps.keep_digit && blobs::keep_digit_blobs(&mut ink, width as usize, INK) > 0 {
        // A cleared speck may have been the darkest mark: the digit's own
        // darkest ink is 1 again.
        let peak = ink.iter().copied().fold(0.0f32, f32::max);
        ink.iter_mut().for_each(|v| *v /= peak);
    }
    let (ink, width) = if steps.deskew {
        let (ink, w) = deskew::deskew(&ink, width as usize, INK);
        (ink, w as u32)
    } else {
        (ink, width)
    };

    // The ink's bounding box.
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (i, &v) in ink.iter().enumerate() {
        if v > INK {
            let (x, y) = ((i % width as usize) as u32, (i / width as usize) as u32);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    if x0 > x1 {
        return Err(DigitError::NoInk);
    }
    let (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
    let full = ImageBuffer::<Luma<f32>, Vec<f32>>::from_raw(width, height, ink).expect("one value a pixel");
    let cropped = imageops::crop_imm(&full, x0, y0, w, h).to_image();

    // The longer side to 20 pixels, the other in proportion (at least 1).
    let scale = BOX as f32 / w.max(h) as f32;
    let (sw, sh) = (
        ((w as f32 * scale).round() as u32).clamp(1, BOX),
        ((h as f32 * scale).round() as u32).clamp(1, BOX),
    );
    let small = imageops::resize(&cropped, sw, sh, FilterType::Triangle);

    // Placed so its centre of mass lands on the middle of 28x28, inside it.
    let (mut mass, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y, p) in small.enumerate_pixels() {
        mass += p[0];
        mx += x as f32 * p[0];
        my += y as f32 * p[0];
    }
    let centre = |m: f32, size: u32| -> i64 {
        let com = if mass > 0.0 { m / mass } else { size as f32 / 2.0 };
        let offset = (IMAGE_SIDE as f32 / 2.0 - 0.5 - com).round() as i64;
        offset.clamp(0, IMAGE_SIDE as i64 - size as i64)
    };
    let (ox, oy) = (centre(mx, sw), centre(my, sh));
    let mut out = vec![0u8; IMAGE_PIXELS];
    for (x, y, p) in small.enumerate_pixels() {
        let (tx, ty) = (ox as usize + x as usize, oy as usize + y as usize);
        out[ty * IMAGE_SIDE + tx] = (p[0].clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    Ok(out)
}

/// The paper's shade at every pixel, for pictures lit unevenly: each block
/// of an 8 x 8 grid over the picture gives the shade of its lighter fifth
/// (darker, for light ink on a dark ground), which is paper wherever ink
/// covers less than four fifths of a block, as strokes do; between block
/// centres the shades are blended bilinearly. On an evenly lit sheet it is
/// the sheet's shade everywhere.
fn paper_shade(grey: &[f32], width: usize, height: usize, dark_on_light: bool) -> Vec<f32> {
    const BLOCKS: usize = 8;
    let quantile = if dark_on_light { 0.8 } else { 0.2 };
    let (bw, bh) = (width.div_ceil(BLOCKS), height.div_ceil(BLOCKS));
    let (nx, ny) = (width.div_ceil(bw), height.div_ceil(bh));
    let mut shades = vec![0.0f32; nx * ny];
    let mut block = Vec::with_capacity(bw * bh);
    for by in 0..ny {
        for bx in 0..nx {
            block.clear();
            for y in by * bh..((by + 1) * bh).min(height) {
                block.extend_from_slice(&grey[y * width + bx * bw..y * width + ((bx + 1) * bw).min(width)]);
            }
            block.sort_by(f32::total_cmp);
            shades[by * nx + bx] = block[((block.len() - 1) as f32 * quantile).round() as usize];
        }
    }
    let mut paper = Vec::with_capacity(width * height);
    for y in 0..height {
        let fy = ((y as f32 + 0.5) / bh as f32 - 0.5).clamp(0.0, (ny - 1) as f32);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y1 = (y0 + 1).min(ny - 1);
        for x in 0..width {
            let fx = ((x as f32 + 0.5) / bw as f32 - 0.5).clamp(0.0, (nx - 1) as f32);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x1 = (x0 + 1).min(nx - 1);
            let top = shades[y0 * nx + x0] * (1.0 - tx) + shades[y0 * nx + x1] * tx;
            let bottom = shades[y1 * nx + x0] * (1.0 - tx) + shades[y1 * nx + x1] * tx;
            paper.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    paper
}

/// The median shade of the picture's outermost rows and columns: which
/// way the ink goes (dark on light paper, or light on a dark ground).
fn border_median(grey: &[f32], width: usize, height: usize) -> f32 {
    let mut border: Vec<f32> = Vec::with_capacity(2 * (width + height));
    for x in 0..width {
        border.push(grey[x]);
        border.push(grey[(height - 1) * width + x]);
    }
    for y in 0..height {
        border.push(grey[y * width]);
        border.push(grey[y * width + width - 1]);
    }
    border.sort_by(f32::total_cmp);
    border.get(border.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma as L};

    /// A 300x200 picture, dark or light ground, with a bar of ink 40 wide
    /// and 120 high well off centre.
    fn bar(dark_ink_on_white: bool) -> DynamicImage {
        let (paper, ink) = if dark_ink_on_white { (255u8, 10u8) } else { (0, 240) };
        let mut img = GrayImage::from_pixel(300, 200, L([paper]));
        for y in 20..140 {
            for x in 200..240 {
                img.put_pixel(x, y, L([ink]));
            }
        }
        DynamicImage::ImageLuma8(img)
    }

    fn bounds(pixels: &[u8]) -> (usize, usize, usize, usize) {
        let on: Vec<(usize, usize)> = (0..IMAGE_PIXELS)
            .filter(|&i| pixels[i] > 64)
            .map(|i| (i % IMAGE_SIDE, i / IMAGE_SIDE))
            .collect();
        let xs = on.iter().map(|p| p.0);
        let ys = on.iter().map(|p| p.1);
        (
            xs.clone().min().unwrap(),
            xs.max().unwrap(),
            ys.clone().min().unwrap(),
            ys.max().unwrap(),
        )
    }

    #[test]
    fn ink_is_cropped_scaled_into_20_and_centred() {
        let pixels = to_mnist(&bar(true)).unwrap();
        let (x0, x1, y0, y1) = bounds(&pixels);
        // 120 high -> 20 rows; 40 wide -> 7 columns (40 / 6), centred.
        assert_eq!(y1 - y0 + 1, 20, "{:?}", (x0, x1, y0, y1));
        assert!((6..=8).contains(&(x1 - x0 + 1)), "{:?}", (x0, x1, y0, y1));
        assert_eq!((y0 + y1) as f32 / 2.0, 13.5);
        assert!(((x0 + x1) as f32 / 2.0 - 13.5).abs() <= 0.5);
        // The ground is 0, the ink 255, as in MNIST.
        assert_eq!(pixels[0], 0);
        assert_eq!(pixels[14 * IMAGE_SIDE + 14], 255);
    }

    /// Specks far from the digit (dirt, sensor noise) would stretch the
    /// crop to the whole sheet and shrink the digit; they are cleared.
    #[test]
    fn specks_do_not_shrink_the_digit() {
        let clean = to_mnist(&bar(true)).unwrap();
        let DynamicImage::ImageLuma8(mut img) = bar(true) else {
            unreachable!()
        };
        for (x, y) in [(5, 5), (290, 190), (10, 180), (150, 100)] {
            img.put_pixel(x, y, L([0]));
        }
        let specks = DynamicImage::ImageLuma8(img);
        assert_eq!(to_mnist(&specks).unwrap(), clean);
        let without = Steps {
            keep_digit: false,
            ..Steps::default()
        };
        let (x0, x1, y0, y1) = bounds(&to_mnist_with(&specks, without).unwrap());
        assert!(y1 - y0 < 10 && x1 - x0 < 5, "{:?}", (x0, x1, y0, y1));
    }

    /// A bar leaning 1 across for 3 down is stood upright: its 28x28 has
    /// no slant left, where without the step it keeps its lean.
    #[test]
    fn a_leaning_digit_is_stood_upright() {
        let mut img = GrayImage::from_pixel(300, 200, L([255u8]));
        for y in 20..170 {
            let left = 150 - (y - 20) / 3;
            for x in left..left + 20 {
                img.put_pixel(x, y, L([10]));
            }
        }
        let picture = DynamicImage::ImageLuma8(img);
        let slant_of = |pixels: Vec<u8>| {
            let ink: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
            deskew::slant(&ink, IMAGE_SIDE, INK)
        };
        let without = Steps {
            deskew: false,
            ..Steps::default()
        };
        let leaning = slant_of(to_mnist_with(&picture, without).unwrap());
        let upright = slant_of(to_mnist(&picture).unwrap());
        assert!(leaning < -0.25, "{leaning}");
        assert!(upright.abs() < 0.05, "{upright}");
    }

    /// A digit whose stroke runs off the top and left edges of the picture
    /// (a photo cropped tight) is still found, scaled and centred. (A
    /// stroke wider than a block of the paper-shade grid, an eighth of the
    /// picture, is not: ink over four fifths of a block is taken for the
    /// paper; docs/handwriting.md.)
    #[test]
    fn a_digit_touching_the_border_is_kept() {
        let mut img = GrayImage::from_pixel(120, 160, L([250u8]));
        for y in 0..100 {
            for x in 0..8 {
                img.put_pixel(x, y, L([15]));
            }
        }
        let (x0, x1, y0, y1) = bounds(&to_mnist(&DynamicImage::ImageLuma8(img)).unwrap());
        assert_eq!(y1 - y0 + 1, 20, "{:?}", (x0, x1, y0, y1));
        assert!(((y0 + y1) as f32 / 2.0 - 13.5).abs() <= 0.5);
        assert!(((x0 + x1) as f32 / 2.0 - 13.5).abs() <= 0.5);
    }

    /// Faint grid lines across the sheet (squared paper) do not move or
    /// shrink the digit.
    #[test]
    fn grid_paper_lines_are_not_the_digit() {
        let DynamicImage::ImageLuma8(mut img) = bar(true) else {
            unreachable!()
        };
        for i in (0..300).step_by(15) {
            for t in 0..200 {
                img.put_pixel(i, t, L([205]));
                if i < 200 {
                    img.put_pixel(t, i, L([205]));
                }
            }
        }
        let (on_grid, plain) = (
            bounds(&to_mnist(&DynamicImage::ImageLuma8(img)).unwrap()),
            bounds(&to_mnist(&bar(true)).unwrap()),
        );
        // The same size; the lines' faint ink may move it by a pixel.
        assert_eq!(
            (on_grid.1 - on_grid.0, on_grid.3 - on_grid.2),
            (plain.1 - plain.0, plain.3 - plain.2)
        );
        assert!(
            on_grid.0.abs_diff(plain.0) <= 1 && on_grid.2.abs_diff(plain.2) <= 1,
            "{on_grid:?} {plain:?}"
        );
    }

    #[test]
    fn dark_on_light_and_light_on_dark_give_the_same_digit() {
        assert_eq!(to_mnist(&bar(true)).unwrap(), to_mnist(&bar(false)).unwrap());
    }

    #[test]
    fn a_blank_picture_has_no_digit() {
        let blank = DynamicImage::ImageLuma8(GrayImage::from_pixel(50, 50, L([255])));
        assert!(matches!(to_mnist(&blank), Err(DigitError::NoInk)));
    }

    #[test]
    fn transparent_paper_counts_as_white() {
        let mut img = image::RgbaImage::from_pixel(100, 100, image::Rgba([0, 0, 0, 0]));
        for y in 10..90 {
            for x in 45..55 {
                img.put_pixel(x, y, image::Rgba([0, 0, 0, 255]));
            }
        }
        let pixels = to_mnist(&DynamicImage::ImageRgba8(img)).unwrap();
        let (_, _, y0, y1) = bounds(&pixels);
        assert_eq!(y1 - y0 + 1, 20);
    }

    /// Every kind of bad picture is its error, none a panic: an empty file,
    /// text named .png, a truncated PNG, one flat shade (white, black, a
    /// single pixel), and a picture too large, refused from its header.
    #[test]
    fn bad_pictures_are_errors_that_say_what() {
        let dir = tempfile::tempdir().unwrap();
        let write_png = |name: &str, img: &GrayImage| {
            let path = dir.path().join(name);
            img.save(&path).unwrap();
            path
        };
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        let text = dir.path().join("notes.png");
        std::fs::write(&text, "not a picture").unwrap();
        let whole = write_png("whole.png", &bar_image());
        let bytes = std::fs::read(&whole).unwrap();
        let truncated = dir.path().join("truncated.png");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        for path in [&empty, &text, &truncated] {
            let e = open(path).unwrap_err();
            assert!(matches!(e, DigitError::Decode { .. }), "{}: {e}", path.display());
            assert!(
                e.to_string().contains(path.file_name().unwrap().to_str().unwrap()),
                "{e}"
            );
        }
        assert!(open(&whole).is_ok());
        for (name, img) in [
            ("white.png", GrayImage::from_pixel(64, 64, L([255]))),
            ("black.png", GrayImage::from_pixel(64, 64, L([0]))),
            ("one.png", GrayImage::from_pixel(1, 1, L([0]))),
        ] {
            let picture = open(&write_png(name, &img)).unwrap();
            assert!(matches!(to_mnist(&picture), Err(DigitError::NoInk)), "{name}");
        }
        // 20000x20000: a PNG header (and a truncated body) is all it takes
        // to be refused, so nothing of 400 megapixels is ever decoded.
        let huge = dir.path().join("huge.png");
        std::fs::write(&huge, png_header(20_000, 20_000)).unwrap();
        let e = open(&huge).unwrap_err();
        assert!(
            matches!(
                e,
                DigitError::TooLarge {
                    width: 20_000,
                    height: 20_000,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("20000x20000 pixels is too large"), "{e}");
    }

    fn bar_image() -> GrayImage {
        match bar(true) {
            DynamicImage::ImageLuma8(img) => img,
            _ => unreachable!(),
        }
    }

    /// The signature, IHDR chunk and an empty IDAT chunk of a greyscale PNG of `width` x `height`.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let crc = crc32(&ihdr);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend_from_slice(&13u32.to_be_bytes());
        out.extend_from_slice(&ihdr);
        out.extend_from_slice(&crc.to_be_bytes());
        // The first image data chunk begins (empty): a decoder reads the
        // header up to it.
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(b"IDAT");
        out.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
        out
    }

    /// PNG's CRC-32 (the same polynomial as zlib's), bit by bit.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// Light falling off across the sheet (paper from white on the left to
    /// a shade darker than half on the right) does not turn the dim side
    /// into ink: the digit found is the one on the evenly lit sheet. Taking
    /// one shade for the whole paper, the crop took in the dark right part.
    #[test]
    fn uneven_light_is_not_ink() {
        let even = to_mnist(&bar(true)).unwrap();
        let mut img = GrayImage::new(300, 200);
        if let DynamicImage::ImageLuma8(lit) = bar(true) {
            for (x, y, p) in lit.enumerate_pixels() {
                let light = 1.0 - 0.55 * x as f32 / 299.0;
                img.put_pixel(x, y, L([(p[0] as f32 * light).round() as u8]));
            }
        }
        let uneven = to_mnist(&DynamicImage::ImageLuma8(img)).unwrap();
        let close = even.iter().zip(&uneven).filter(|(a, b)| a.abs_diff(**b) <= 40).count();
        assert!(close >= IMAGE_PIXELS - 10, "{close} of 784 pixels alike");
        assert_eq!(bounds(&even), bounds(&uneven));
    }
}
