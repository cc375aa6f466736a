//! Watching an optimiser on a function of two variables: the path it takes
//! from a starting point, for plots like the NumPy course's comparison on
//! `f(x, y) = x²/20 + y²`.

use crate::Optimizer;

/// The points `opt` visits in `steps` steps from `start`, given the
/// gradient of the function it descends (the start included).
pub fn descend(
    opt: &mut dyn Optimizer,
    start: [f32; 2],
    grad: impl Fn([f32; 2]) -> [f32; 2],
    steps: usize,
) -> Vec<[f32; 2]> {
    let mut p = start;
    let mut path = Vec::with_capacity(steps + 1);
    path.push(p);
    for _ in 0..steps {
        let g = grad(p);
        opt.begin_step();
        opt.update(0, &mut p, &g);
        path.push(p);
    }
    path
}

/// The course's function `x²/20 + y²`, shallow along x and steep along y.
pub fn course_function(p: [f32; 2]) -> f32 {
    p[0] * p[0] / 20.0 + p[1] * p[1]
}

/// The gradient of [`course_function`].
pub fn course_gradient(p: [f32; 2]) -> [f32; 2] {
    [p[0] / 10.0, 2.0 * p[1]]
}
