//! What the generators' CPU routes (`dcgan_host`, `pggan_host`, `stylegan_host`) share.

thread_local! {
    /// This thread's two feature-map buffers, kept between layers and calls: a generator's maps
    /// have the same sizes batch after batch, and fresh ones cost a cleared page per 2 MiB.
    static MAPS: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's two map buffers (their contents are stale: writers resize and
/// overwrite them).
pub(crate) fn with_maps<R>(f: impl FnOnce(&mut Vec<f32>, &mut Vec<f32>) -> R) -> R {
    MAPS.with_borrow_mut(|(a, b)| f(a, b))
}

/// A layer of the CPU routes: a channel-last map in, one out.
pub(crate) trait HostMap {
    /// `x` `[n, side, side, c_in]` to `[n, out, out, c_out]` into `out` (resized; every value written).
    fn forward(&self, x: &[f32], n: usize, side: usize, out: &mut Vec<f32>);
    /// The output side for an input side `side`.
    fn out_side(&self, side: usize) -> usize;
    /// Output channels.
    fn c_out(&self) -> usize;
}

/// Runs `layers` in turn on `input` `[n, 1, 1, c]` (after `prepare` on each code) in this thread's
/// map buffers, and returns the last map channel-first.
pub(crate) fn run_layers<L: HostMap>(layers: &[L], input: &[f32], n: usize, prepare: impl Fn(&mut [f32])) -> Vec<f32> {
    with_maps(|x, next| {
        x.clear();
        x.extend_from_slice(input);
        x.chunks_exact_mut(input.len() / n.max(1)).for_each(prepare);
        let mut side = 1;
        for layer in layers {
            layer.forward(x, n, side, next);
            std::mem::swap(x, next);
            side = layer.out_side(side);
        }
        let c = layers.last().map_or(0, |l| l.c_out());
        interfacegan_simd::to_channel_first(&x[..n * side * side * c], c, side * side)
    })
}
