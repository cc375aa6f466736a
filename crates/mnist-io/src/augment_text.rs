//! The text form of an augmentation, `rotate=10,shift=2,elastic=34:4` (or
//! `none`): what `mnist train --augment` and a `ladder.toml` rung take, and
//! what a model file records. [`Augment`]'s `Display` writes what its
//! `FromStr` reads back, value for value.

use std::fmt;
use std::str::FromStr;

use crate::augment::{Augment, Elastic};

/// What the text form takes, for help texts and errors.
pub const AUGMENT_HELP: &str = "Random transforms of each training batch, comma-separated: \
rotate=DEG, shift=PX, scale=FRACTION, shear=DEG, elastic=ALPHA:SIGMA, brightness=B, contrast=C, \
invert=PROB, flip=PROB (flipping hurts digits: see the docs), thickness=PROB, blur=SIGMA, noise=N; \
e.g. rotate=10,shift=2,elastic=34:4; \
none for nothing";

impl FromStr for Augment {
    type Err = String;

    /// Parses `rotate=10,shift=2,elastic=34:4` and the like (`none`: no
    /// transform). Scale is capped at 0.9 and shear at 60 degrees.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut aug = Augment::default();
        if text.trim() == "none" || text.trim().is_empty() {
            return Ok(aug);
        }
        for item in text.split(',') {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not KEY=VALUE"))?;
            let num = |v: &str| -> Result<f32, String> {
                let x: f32 = v.trim().parse().map_err(|e| format!("{key}={v}: {e}"))?;
                if x.is_finite() && x >= 0.0 {
                    Ok(x)
                } else {
                    Err(format!("{key}={v}: must be a non-negative number"))
                }
            };
            let prob = |v: &str| -> Result<f32, String> {
                let p = num(v)?;
                if p <= 1.0 {
                    Ok(p)
                } else {
                    Err(format!("{key}={v}: a probability is at most 1"))
                }
            };
            match key.trim() {
                "rotate" => aug.rotate_degrees = num(value)?,
                "shift" => aug.shift_pixels = num(value)?,
                "scale" => aug.scale = num(value)?.min(0.9),
                "shear" => aug.shear_degrees = num(value)?.min(60.0),
                "elastic" => {
                    let (alpha, sigma) = value
                        .split_once(':')
                        .ok_or_else(|| format!("elastic={value}: want ALPHA:SIGMA"))?;
                    aug.elastic = Some(Elastic {
                        alpha: num(alpha)?,
                        sigma: num(sigma)?,
                    });
                }
                "brightness" => aug.brightness = num(value)?,
                "contrast" => aug.contrast = num(value)?,
                "invert" => aug.invert = prob(value)?,
                "flip" => aug.flip = prob(value)?,
                "thickness" => aug.thickness = prob(value)?,
                "blur" => aug.blur = num(value)?,
                "noise" => aug.noise = num(value)?,
                other => return Err(format!("{other:?} is not a transform; {AUGMENT_HELP}")),
            }
        }
        Ok(aug)
    }
}

impl fmt::Display for Augment {
    /// The transforms that are on, in a fixed order; `none` when none is.
    /// Rust prints the shortest decimal that reads back as the same `f32`,
    /// so parsing the text gives this `Augment` again.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        for (key, value) in [
            ("rotate", self.rotate_degrees),
            ("shift", self.shift_pixels),
            ("scale", self.scale),
            ("shear", self.shear_degrees),
        ] {
            if value != 0.0 {
                items.push(format!("{key}={value}"));
            }
        }
        if let Some(Elastic { alpha, sigma }) = self.elastic {
            items.push(format!("elastic={alpha}:{sigma}"));
        }
        for (key, value) in [
            ("brightness", self.brightness),
            ("contrast", self.contrast),
            ("invert", self.invert),
            ("flip", self.flip),
            ("thickness", self.thickness),
            ("blur", self.blur),
            ("noise", self.noise),
        ] {
            if value != 0.0 {
                items.push(format!("{key}={value}"));
            }
        }
        if items.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&items.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let a: Augment = "rotate=10,shift=2,elastic=34:4,invert=0.5".parse().unwrap();
        assert_eq!((a.rotate_degrees, a.shift_pixels, a.invert), (10.0, 2.0, 0.5));
        assert_eq!(
            a.elastic,
            Some(Elastic {
                alpha: 34.0,
                sigma: 4.0
            })
        );
        assert!("none".parse::<Augment>().unwrap().is_identity());
        for bad in ["rotate", "spin=3", "flip=2", "shift=-1", "elastic=3"] {
            assert!(bad.parse::<Augment>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_text_reads_back_as_the_same_augmentation() {
        for text in [
            "none",
            "rotate=15,shift=2,scale=0.1,shear=10,elastic=34:4",
            "rotate=0.3,brightness=0.1,contrast=0.25,invert=0.5,flip=0.01",
            "shift=1,thickness=0.5,blur=0.8,noise=0.1",
        ] {
            let a: Augment = text.parse().unwrap();
            assert_eq!(a.to_string(), text);
            assert_eq!(a.to_string().parse::<Augment>().unwrap(), a);
        }
        // Order and spacing are the writer's: the values are what count.
        let a: Augment = "shift=2, rotate=1e1".parse().unwrap();
        assert_eq!(a.to_string(), "rotate=10,shift=2");
    }
}
