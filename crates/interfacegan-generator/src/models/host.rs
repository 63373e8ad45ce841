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
