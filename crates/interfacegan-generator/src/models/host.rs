//! What the generators' CPU routes (`dcgan_host`, `pggan_host`) share.

/// Channel-last images `[n, side, side, c]` as burn's channel-first `[n, c, side, side]`.
pub(crate) fn to_channel_first(x: &[f32], c: usize, side: usize) -> Vec<f32> {
    let pixels = side * side;
    let mut images = vec![0f32; x.len()];
    for (nhwc, nchw) in x.chunks_exact(pixels * c).zip(images.chunks_exact_mut(pixels * c)) {
        for (p, values) in nhwc.chunks_exact(c).enumerate() {
            for (ch, &v) in values.iter().enumerate() {
                nchw[ch * pixels + p] = v;
            }
        }
    }
    images
}

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
