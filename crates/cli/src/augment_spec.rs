//! The text form of an augmentation, for `--augment`.

use mnist_io::augment::{Augment, Elastic};

/// What `--augment` takes, for help texts.
pub const AUGMENT_HELP: &str = "Random transforms of each training batch, comma-separated: \
rotate=DEG, shift=PX, scale=FRACTION, shear=DEG, elastic=ALPHA:SIGMA, brightness=B, contrast=C, \
invert=PROB, flip=PROB (flipping hurts digits: see the docs); e.g. rotate=10,shift=2,elastic=34:4; \
none for nothing";

/// Parses `rotate=10,shift=2,elastic=34:4` and the like (`none`: no transform).
pub fn parse_augment(text: &str) -> Result<Augment, String> {
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
            other => return Err(format!("{other:?} is not a transform; {AUGMENT_HELP}")),
        }
    }
    Ok(aug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let a = parse_augment("rotate=10,shift=2,elastic=34:4,invert=0.5").unwrap();
        assert_eq!((a.rotate_degrees, a.shift_pixels, a.invert), (10.0, 2.0, 0.5));
        assert_eq!(
            a.elastic,
            Some(Elastic {
                alpha: 34.0,
                sigma: 4.0
            })
        );
        assert!(parse_augment("none").unwrap().is_identity());
        for bad in ["rotate", "spin=3", "flip=2", "shift=-1", "elastic=3"] {
            assert!(parse_augment(bad).is_err(), "{bad}");
        }
    }
}
