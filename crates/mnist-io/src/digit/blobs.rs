//! Keeping the digit when a picture holds other marks: specks of dirt or
//! noise, a stray dot. The ink is split into 8-connected blobs; blobs with
//! less than a tenth of the largest one's ink are cleared, so the digit's
//! own separate strokes (a 5's flag, an open 4) stay.

/// Clears, in `ink` (`width` pixels a row, 0..1), the blobs of pixels over
/// `threshold` whose summed ink is under a tenth of the largest blob's.
/// Returns how many blobs were cleared.
pub(super) fn keep_digit_blobs(ink: &mut [f32], width: usize, threshold: f32) -> usize {
    let height = ink.len() / width;
    // 0: not ink (or not yet seen); blob numbers from 1.
    let mut label = vec![0u32; ink.len()];
    let mut mass: Vec<f32> = vec![0.0];
    let mut stack = Vec::new();
    for start in 0..ink.len() {
        if ink[start] <= threshold || label[start] != 0 {
            continue;
        }
        let id = mass.len() as u32;
        let mut sum = 0.0f32;
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            sum += ink[i];
            let (x, y) = (i % width, i / width);
            for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                    let j = ny * width + nx;
                    if ink[j] > threshold && label[j] == 0 {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
        mass.push(sum);
    }
    let largest = mass.iter().copied().fold(0.0f32, f32::max);
    let dropped: Vec<bool> = mass.iter().map(|&m| m < largest / 10.0).collect();
    for (v, &l) in ink.iter_mut().zip(&label) {
        if l != 0 && dropped[l as usize] {
            *v = 0.0;
        }
    }
    dropped.iter().skip(1).filter(|&&d| d).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specks_are_cleared_and_the_digits_strokes_kept() {
        let (w, h) = (40, 30);
        let mut ink = vec![0.0f32; w * h];
        let mut paint = |x0: usize, x1: usize, y0: usize, y1: usize| {
            for y in y0..y1 {
                for x in x0..x1 {
                    ink[y * w + x] = 1.0;
                }
            }
        };
        paint(10, 14, 5, 25); // the stroke: 80 pixels
        paint(16, 20, 5, 7); // a separate stroke of 8 pixels, over a tenth
        paint(30, 31, 20, 21); // a speck of 1 pixel
        paint(0, 2, 0, 2); // a speck of 4 in the corner
        ink[35] = 0.2; // faint: not ink, left alone
        let cleared = keep_digit_blobs(&mut ink, w, 0.25);
        assert_eq!(cleared, 2);
        assert_eq!(ink.iter().filter(|&&v| v == 1.0).count(), 88);
        assert_eq!((ink[20 * w + 30], ink[0], ink[35]), (0.0, 0.0, 0.2));
    }

    #[test]
    fn diagonal_neighbours_are_one_blob() {
        // A diagonal of 20 pixels is one blob; the pixel in the far corner
        // of the first row is another, of a twentieth of its ink.
        let w = 20;
        let mut ink = vec![0.0f32; w * w];
        for i in 0..w {
            ink[i * w + i] = 1.0;
        }
        ink[w - 1] = 1.0;
        assert_eq!(keep_digit_blobs(&mut ink, w, 0.25), 1);
        assert_eq!(ink.iter().sum::<f32>(), 20.0);
        assert_eq!(ink[w - 1], 0.0);
    }
}
