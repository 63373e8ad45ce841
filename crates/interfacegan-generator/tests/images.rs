mod common;
use common::*;
use interfacegan_generator::{grid, normalize_z, postprocess, save_image, to_rgb_images};

#[test]
fn postprocess_is_exactly_the_official_rounding() {
    let raw = npy("postprocess/raw.npy");
    let want: Vec<u8> = npy("postprocess/uint8.npy").iter().map(|&v| v as u8).collect();
    assert_eq!(postprocess(&raw, [4, 3, 32, 32]).unwrap(), want);
    assert!(postprocess(&raw, [5, 3, 32, 32]).is_err());
    // And on real generator output.
    let raw = npy("dcgan_digiface/image.npy");
    let want: Vec<u8> = npy("dcgan_digiface/image_uint8.npy").iter().map(|&v| v as u8).collect();
    assert_eq!(postprocess(&raw, [16, 3, 64, 64]).unwrap(), want);
}

#[test]
fn z_normalisation_matches_official_preprocess() {
    for (model, dim) in [("pggan64", 48), ("stylegan64", 40), ("stylegan128", 56)] {
        let mut z = npy(&format!("{model}/z_raw.npy"));
        normalize_z(&mut z, dim);
        let want = if model == "pggan64" { "synth_z/z.npy" } else { "synth_z_psi0.7/z.npy" };
        let diff = max_abs_diff(&z, &npy(&format!("{model}/{want}")));
        assert!(diff <= 1e-6, "{model}: {diff}");
    }
}

#[test]
fn grid_places_cells_and_files_are_not_clobbered() {
    let raw = npy("dcgan_digiface/image.npy");
    let faces = to_rgb_images(&raw, [16, 3, 64, 64]).unwrap();
    let g = grid(&faces[..5], 2, 3, 2, [255, 255, 255]).unwrap();
    assert_eq!(g.dimensions(), (3 * 64 + 4 * 2, 2 * 64 + 3 * 2));
    assert_eq!(g.get_pixel(2 + 64 + 2 + 10, 2 + 7), faces[1].get_pixel(10, 7));
    assert_eq!(g.get_pixel(0, 0).0, [255, 255, 255]);
    assert!(grid(&faces, 2, 3, 0, [0, 0, 0]).is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.png");
    save_image(&path, &g, false).unwrap();
    let err = save_image(&path, &g, false).unwrap_err();
    assert!(err.to_string().contains("exists"), "{err}");
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!(back, g);
    assert!(save_image(dir.path().join("grid.bmp"), &g, false).is_err());
}
